"""benchmarks/pacgan_reference_loop.py, PacGAN's own 2-D step as a plain torch loop: it runs and
writes its JSON, a seed fixes its numbers, and the pieces that copy Theano/Blocks behaviour (batch
norm, Adam's ε, the fixed packs) match the formulas of their code written out here."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import pacgan_reference_loop as ref  # noqa: E402


def test_a_few_steps_write_the_json_and_a_seed_fixes_the_numbers(tmp_path):
    argv = ["--target", "grid25", "--pack", "2", "--epochs", "0.006", "--eval-at", "0.003", "--seeds", "0,1"]
    first = ref.main([*argv, "--out", str(tmp_path / "a.json")])
    again = json.loads((tmp_path / "a.json").read_text())
    assert [r["seed"] for r in again["runs"]] == [0, 1]
    assert [e["iteration"] for e in again["runs"][0]["evals"]] == [3, 6]
    for e in again["runs"][1]["evals"]:
        assert 0 <= e["modes"] <= 25 and 0 <= e["high_quality"] <= 100 and math.isfinite(e["d_loss"])
    assert [s["epoch"] for s in again["summary"]] == [0.003, 0.006]
    assert again["config"]["packs"] == "fixed" and again["config"]["bn_eval"] == "population"
    # the same seed trains the same nets whatever statistics sample them: the population row of one
    # run is the other's paired row, and the reverse
    second = ref.main([*argv, "--seeds", "1", "--bn-eval", "batch"])
    for a, b in zip(first["runs"][1]["evals"], second["runs"][0]["evals"]):
        assert a["other_bn_eval"] == {"bn_eval": "batch", **{k: b[k] for k in ("modes", "high_quality", "reverse_kl")}}
        assert b["other_bn_eval"] == {"bn_eval": "population", **{k: a[k] for k in ("modes", "high_quality", "reverse_kl")}}
        assert (a["d_loss"], a["g_loss"]) == (b["d_loss"], b["g_loss"])
    ev = first["runs"][1]["evals"][0]  # the two statistics give different samples
    assert ev["high_quality"] > 0 and ev["high_quality"] != ev["other_bn_eval"]["high_quality"]


@pytest.mark.parametrize("argv, word", [
    (["--pack", "0"], "--pack"), (["--beta1", "1"], "--beta1"), (["--bn-eps", "-1"], "--bn-eps"),
    (["--epochs", "1", "--eval-at", "2"], "--eval-at"), (["--epochs", "-1"], "epochs"),
    (["--seeds", "0,x"], "seeds"), (["--epochs", "0.0001"], "at least one iteration"),
])
def test_bad_flags_are_refused_naming_the_value(argv, word, capsys):
    with pytest.raises(SystemExit):
        ref.parse(argv)
    assert word in capsys.readouterr().err


def test_blocks_batch_norm_trains_on_batch_statistics_and_samples_on_the_population():
    bn = ref.BlocksBatchNorm(3, eps=1e-4)
    with torch.no_grad():
        bn.scale.copy_(torch.tensor([1.0, 2.0, 0.5]))
        bn.shift.copy_(torch.tensor([0.0, -1.0, 3.0]))
    h1 = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [2.0, 5.0, 0.0], [6.0, 3.0, 2.0]], dtype=torch.float64)
    h2 = 2 * h1.flip(0) + 1
    bn.double()
    y = bn(h1)
    x = h1.numpy()
    mean, var = x.mean(0), ((x - x.mean(0)) ** 2).mean(0)  # biased variance, ε inside the root
    want = (x - mean) / np.sqrt(var + 1e-4) * [1.0, 2.0, 0.5] + [0.0, -1.0, 3.0]
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-12)
    bn(h2)  # a second call of the same step: the population takes the mean of both calls' statistics
    bn.commit()
    stats = [(a.mean(0), np.sqrt(((a - a.mean(0)) ** 2).mean(0) + 1e-4)) for a in (x, h2.numpy())]
    pop_mean = 0.95 * 0 + 0.05 * (stats[0][0] + stats[1][0]) / 2
    pop_std = 0.95 * 1 + 0.05 * (stats[0][1] + stats[1][1]) / 2
    np.testing.assert_allclose(bn.pop_mean.numpy(), pop_mean, rtol=1e-12)
    np.testing.assert_allclose(bn.pop_stdev.numpy(), pop_std, rtol=1e-12)
    bn.population = True
    z = bn(h1)  # inference: the population statistics, no ε added again
    np.testing.assert_allclose(z.detach().numpy(), (x - pop_mean) / pop_std * [1.0, 2.0, 0.5] + [0.0, -1.0, 3.0],
                               rtol=1e-12)
    assert bn.seen == []  # sampling made no population update


def test_torch_adam_with_the_blocks_eps_takes_blocks_adam_steps():
    """Blocks' Adam (blocks/algorithms/__init__.py, class Adam) written out: lr_t = lr √(1 − β2^t) /
    (1 − β1^t), step = lr_t m_t / (√v_t + ε), against torch's Adam with ε set per step."""
    lr, b1, b2, eps = 1e-3, 0.8, 0.999, 1e-2  # a large ε, so that where it is added matters
    grads = [torch.tensor([0.3, -2.0, 1e-3], dtype=torch.float64) * (k + 1) for k in range(4)]
    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    want, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(grads, start=1):
        opt.param_groups[0]["eps"] = ref.blocks_adam_eps(t, eps, b2)
        p.grad = g.clone()
        opt.step()
        m = b1 * m + (1 - b1) * g.numpy()
        v = b2 * v + (1 - b2) * g.numpy() ** 2
        want = want - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-10)


def _rows(t: torch.Tensor) -> np.ndarray:
    """The rows of t in lexicographic order (a multiset of rows)."""
    a = t.numpy()
    return a[np.lexsort(a.T[::-1])]


def test_fixed_packs_stay_together_and_fresh_packs_are_slots_of_separate_rows():
    fixed = ref.Data("grid25", 2, "fixed", np.random.RandomState(0))
    first = torch.cat([fixed.batch() for _ in range(1000)])  # one epoch: every pack once
    second = torch.cat([fixed.batch() for _ in range(1000)])
    assert first.shape == (100_000, 4) and np.array_equal(_rows(first), _rows(second))  # same packs, reshuffled
    assert not torch.equal(first, second)
    drawn = {tuple(r) for r in fixed.samples.tolist()}  # each slot resamples the one set of 100,000
    assert all(tuple(r[:2]) in drawn and tuple(r[2:]) in drawn for r in first[:2000].tolist())
    assert len({tuple(r) for r in fixed.set[:, :2].tolist()}) < 0.7 * 100_000  # with replacement: ≈ 63 % distinct
    fresh = ref.Data("grid25", 2, "fresh", np.random.RandomState(0))
    x = fresh.batch()
    rows = torch.from_numpy(fresh.set[fresh.order[:200]])
    assert x.shape == (100, 4) and torch.equal(x[:, :2], rows[:100]) and torch.equal(x[:, 2:], rows[100:])
    epoch = torch.cat([x] + [fresh.batch() for _ in range(499)])  # 500 steps of 200 rows: one epoch
    assert np.array_equal(_rows(epoch.reshape(-1, 2)), _rows(torch.from_numpy(fresh.set)))


def test_the_nets_have_their_shapes_and_init():
    torch.manual_seed(0)
    g, d = ref.generator(1e-4), ref.discriminator(4)
    ref.init_weights(g), ref.init_weights(d)
    linears = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features, m.bias is not None) for m in linears] == [
        (2, 400, False), (400, 400, False), (400, 400, False), (400, 400, False), (400, 2, True)]
    assert linears[-1].bias.abs().max() == 0 and abs(linears[1].weight.std().item() - 0.02) < 1e-3
    assert sum(p.numel() for p in d.parameters()) == (8 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201
    h = torch.arange(10.0)[None]
    assert torch.equal(ref.Maxout(5)(h), torch.tensor([[4.0, 9.0]]))  # consecutive pieces, as Blocks' Maxout
