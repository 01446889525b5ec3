"""The pieces the experiments add to the engine: ``MixtureFamily`` (one known distribution per
member), the parallel-lines target, ``Trainer(fake_source=...)`` and ``Trainer.d_logits``."""

import dataclasses

import numpy as np
import pytest
import torch

from ganlab.data.sources import TargetSource
from ganlab.experiments.common import member_seeds, mixture_kwargs, pick, widened
from ganlab.experiments.disjoint import LinesFamily
from ganlab.experiments.family import MixtureFamily
from ganlab.models.mlp import MLPSpec
from ganlab.rng import Streams
from ganlab.theory.targets import NoDensityError, ParallelLines, make_target, mixture_1d
from ganlab.theory.wasserstein import w1
from ganlab.training.config import Runtime, TrainConfig
from ganlab.training.engine import Trainer
from ganlab.training.methods import MethodConfig
from ganlab.theory.pairs import drop_modes, shifted

F64 = Runtime(dtype="float64", progress=False)


def test_family_member_draws_what_its_own_target_source_draws():
    """Member i of a family draws, bit for bit, what ``TargetSource(targets[i])`` draws for its
    seed alone (targets with different numbers of modes: the padding is never chosen)."""
    ring = make_target("ring8", std=0.1)
    targets = [ring, drop_modes(ring, (0, 3, 5)), widened(ring, 2.0)]
    seeds = [11, 4, 7]
    family = MixtureFamily(targets)
    streams = Streams(seeds)
    family.prepare(streams, torch.device("cpu"))
    x = family.batch(streams, "fake", 9, 2, 3000, torch.float64)
    for i, (t, s) in enumerate(zip(targets, seeds)):
        alone, one = TargetSource(t), Streams([s])
        alone.prepare(one, torch.device("cpu"))
        assert torch.equal(x[i], alone.batch(one, "fake", 9, 2, 3000, torch.float64)[0])
    dropped = torch.cdist(x[1], ring.means[[0, 3, 5]].to(x.dtype)).min(dim=1).values
    assert dropped.min() > 0.2  # 2 stds: no sample of member 1 sits on a dropped mode


def test_family_refuses_mixed_dimensions_and_a_wrong_member_count():
    with pytest.raises(ValueError, match="differ in dimension"):
        MixtureFamily([make_target("mixture1d"), make_target("ring8")])
    family = MixtureFamily([make_target("mixture1d")] * 2)
    with pytest.raises(ValueError, match="2 targets for 3 members"):
        family.prepare(Streams([1, 2, 3]), torch.device("cpu"))


def test_parallel_lines_target():
    """Samples lie on x = θ with y uniform on [0, 1]; no density; W1 between two lines is |θ − θ'|
    (POT's LP on the same y's), the batched sampler draws the same law."""
    lines = make_target("parallel-lines", theta=0.7)
    x = lines.sample(2000, 3, dtype=torch.float64)
    assert torch.all(x[:, 0] == 0.7) and 0 < x[:, 1].min() and x[:, 1].max() < 1
    assert abs(float(x[:, 1].mean()) - 0.5) < 4 * (1 / 12) ** 0.5 / 2000**0.5
    with pytest.raises(NoDensityError):
        lines.log_prob(x)
    other = x.clone()
    other[:, 0] = -0.3
    assert w1(x, other) == pytest.approx(1.0, abs=1e-9)
    streams = Streams([5])
    source = TargetSource(lines)
    source.prepare(streams, torch.device("cpu"))
    family = LinesFamily([0.7])
    family.prepare(streams, torch.device("cpu"))
    a = source.batch(streams, "fake", 1, 0, 100, torch.float64)
    assert torch.equal(a, family.batch(streams, "fake", 1, 0, 100, torch.float64))
    with pytest.raises(ValueError, match="theta must be a finite number"):
        ParallelLines(theta=float("nan"))


def _d_alone(fake: str, fake_kwargs: dict, seeds=(3, 8)) -> TrainConfig:
    return TrainConfig(target="mixture1d", fixed_generator=fake, fixed_generator_kwargs=fake_kwargs,
                       method=MethodConfig(lr_d=1e-3, batch_size=64), discriminator=MLPSpec(width=16, depth=2),
                       seeds=seeds, evaluators=(), final_evaluators=())


def test_a_family_run_member_equals_its_fixed_generator_run():
    """A discriminator family (fake_source = MixtureFamily) trains each member exactly as a run
    with that member's p_g as ``fixed_generator`` (float64, bit for bit)."""
    p = make_target("mixture1d")
    q0, q1 = shifted(p, (0.5,)), widened(p, 2.0)
    cfg = _d_alone("mixture", mixture_kwargs(q0))
    family = Trainer(cfg, F64, fake_source=MixtureFamily([q0, q1]))
    assert family.G is None and family.params_g == {}
    alone = Trainer(dataclasses.replace(cfg, seeds=(8,), fixed_generator_kwargs=mixture_kwargs(q1)), F64)
    for _ in range(5):
        family.train_step()
        alone.train_step()
    for k in alone.params_d:
        assert torch.equal(family.params_d[k][1], alone.params_d[k][0]), k


def test_d_logits_reads_every_member_on_shared_or_own_points():
    t = Trainer(_d_alone("mixture1d", {}), F64)
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)[:, None]
    shared = t.d_logits(x)
    assert shared.shape == (2, 7)
    assert torch.equal(shared, t.discriminate(t.params_d, x.expand(2, -1, -1))[..., 0])
    own = t.d_logits(torch.stack([x, x + 1]))  # member 0 on x, member 1 on x + 1
    assert torch.equal(own[0], shared[0]) and not torch.equal(own[1], shared[1])
    assert torch.equal(own[1], t.discriminate(t.params_d, (x + 1).expand(2, -1, -1))[1, :, 0])
    packed = TrainConfig(target="ring8", method=MethodConfig(pack=2), evaluators=(), final_evaluators=())
    with pytest.raises(ValueError, match="unpacked, unconditional"):
        Trainer(packed, F64).d_logits(torch.zeros(3, 2))


def test_budgets_and_member_seeds():
    assert member_seeds(2, 3) == (6, 7, 8) and len(set(member_seeds(0, 5) + member_seeds(1, 5))) == 10
    with pytest.raises(ValueError, match="unknown budget 'medium'"):
        pick({"short": 1, "long": 2}, "medium")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        member_seeds(-1, 2)
    assert np.allclose(widened(mixture_1d(), 3.0).mode_stds.numpy(), 1.5)
