"""Which random streams an evaluation draws from: its samples (``Trainer.generate``: evaluation and
final samples) come from purposes of their own, so an evaluation neither shifts a member's later
training draws nor reuses any training batch's noise, labels or data.

Independent check: every stream address (purpose, step, sub) a run asks ``Streams`` for is recorded
at its one entry point, and the addresses of training and of evaluation must be disjoint; the
samples themselves are compared with every fake batch that training draws at the same step."""

import numpy as np
import pytest
import torch

from ganlab.training.engine import Trainer
from ganlab.training.methods import make_method
from helpers import F32, small

STEPS = 4

CASES = {
    "k=2": dict(method=make_method("nonsaturating", d_steps=2)),
    "conditional": dict(method=make_method("nonsaturating"), classes=8),
    "fixed generator": dict(method=make_method("nonsaturating"), fixed_generator="ring8",
                            fixed_generator_kwargs={"radius": 1.5}),
    "fixed training set": dict(method=make_method("nonsaturating"), dataset_size=96),
}


def _trainer(case: str) -> Trainer:
    kw = dict(CASES[case])
    return Trainer(small(kw.pop("method"), seeds=(3, 5), width=16, **kw), F32)


def _record_addresses(t: Trainer) -> list[tuple[str, int, int]]:
    """Every (purpose, step, sub) the trainer draws from, in order (``Streams._draw`` is the one
    place that turns an address into random words)."""
    log: list[tuple[str, int, int]] = []
    draw = t.streams._draw

    def rec(fn, purpose, step, sub, count, *args):
        log.append((purpose, step, sub))
        return draw(fn, purpose, step, sub, count, *args)

    t.streams._draw = rec
    return log


@pytest.mark.parametrize("case", list(CASES))
def test_evaluation_and_training_draw_from_disjoint_streams(case):
    """Over STEPS training steps with an evaluation (and final samples) after each, no address an
    evaluation draws from is one that training draws from, at any step."""
    t = _trainer(case)
    log = _record_addresses(t)
    train, evaluation = set(), set()
    for _ in range(STEPS):
        log.clear()
        t.train_step()
        train |= set(log)
        log.clear()
        t.evaluate()
        t.final_samples()
        evaluation |= set(log)
    assert train and evaluation
    assert not train & evaluation, sorted(train & evaluation)


@pytest.mark.parametrize("case", ["k=2", "conditional", "fixed generator"])
def test_evaluation_samples_are_no_training_fake_batch(case):
    """At step s (after s steps), no evaluation or final sample equals any row of the fake batches
    that training draws at steps s − 1 and s, for any sub-draw of the schedule."""
    t = _trainer(case)
    for _ in range(2):
        t.train_step()
    s, subs = t.step, t.cfg.method.d_steps + t.cfg.method.g_steps
    fakes = torch.cat([t.fake(step, sub) for step in (s - 1, s) for sub in range(subs)], dim=1)  # [N, F, d]
    for samples in (t.generate(t.batch_rows), t.final_samples()[:, :t.batch_rows]):
        same = (samples[:, :, None, :] == fakes[:, None, :, :]).all(dim=-1)  # [N, n, F]
        assert not same.any(), same.nonzero()[:5]


@pytest.mark.parametrize("case", ["k=2", "conditional", "fixed training set"])
def test_evaluations_never_shift_training(case):
    """A run that evaluates (and draws final samples) after every step ends with bit-identical
    weights to one that never evaluates, and then trains on identically."""
    evaluated, plain = _trainer(case), _trainer(case)
    for _ in range(STEPS):
        evaluated.train_step()
        evaluated.evaluate()
        evaluated.final_samples()
        plain.train_step()
    for _ in range(2):
        evaluated.train_step(), plain.train_step()
    for which in ("params_g", "params_d"):
        a, b = getattr(evaluated, which), getattr(plain, which)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (which, k)


def test_evaluation_samples_depend_on_the_step_and_the_purpose():
    """The final samples are not the last evaluation's (same step, other purpose), and evaluations
    at other steps are other draws (a fixed evaluation stream would show the same noise each time)."""
    t = _trainer("k=2")
    t.train_step()
    n = t.cfg.n_final_samples  # (a draw's numbers depend on its size: compare draws of one size)
    a, b, c = t.generate(n), t.final_samples(), t.generate(n, step=t.step + 1)
    assert not (a == b).all(dim=-1).any() and not (a == c).all(dim=-1).any()
    assert torch.equal(a, t.generate(n))  # same address, same draw


def test_a_run_ends_the_same_whatever_its_evaluation_interval(tmp_path):
    """``ganlab train`` evaluating every step and only at the start and the end: the same final
    samples (drawn from the final weights), bit for bit, and the same final checkpoint weights."""
    from ganlab.cli import main

    args = ["train", "--target", "ring8", "--seeds", "2", "--batch", "32", "--steps", "8", "--eval-samples", "256",
            "--no-progress", "--g-width", "16", "--d-width", "16", "--checkpoint-every", "8"]
    for every in (1, 8):
        assert main([*args, "--eval-every", str(every), "--out", str(tmp_path / str(every))]) == 0
    often, once = (np.load(tmp_path / e / "samples.npz")["samples"] for e in ("1", "8"))
    assert np.array_equal(often, once)
    a, b = (torch.load(sorted((tmp_path / e / "checkpoints").glob("*.pt"))[-1], weights_only=True) for e in ("1", "8"))
    for which in ("params_g", "params_d"):
        for k in a[which]:
            assert torch.equal(a[which][k], b[which][k]), (which, k)
