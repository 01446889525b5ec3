"""The "w1" evaluator (exact W1 to the target in blocks, its standard error and sampling floor)
against independent computations."""

import math

import numpy as np
import pytest
import scipy.optimize
import torch

import ganlab.metrics.wasserstein as MW
from ganlab.rng import derive_seed
from ganlab.theory.targets import ring
from ganlab.training.evaluators import EVALUATORS, EvalContext, evaluator_keys, run_evaluators


def _assignment_w1(x: torch.Tensor, y: torch.Tensor) -> float:
    """Exact W1 of two equal-size uniform clouds as an assignment problem, on the written-out
    Euclidean cost (scipy; no POT)."""
    x, y = x.numpy(), y.numpy()
    cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1))
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(MW, "W1_BLOCK", 40)


def _samples(n_members: int, n: int = 100) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = ring().sample(n_members * n, g, dtype=torch.float64).reshape(n_members, n, 2)
    return x * torch.linspace(0.8, 1.2, n_members, dtype=torch.float64)[:, None, None]


def test_w1_evaluator_by_hand(small_blocks):
    """Blocks of 40 of 100 samples: two per member, against target.sample(80, derive_seed(seed,
    "w1-reference")) cut the same way; a frozen member gets NaN; the floor columns are
    w1_floor(target, 40) for everyone."""
    seeds, x = [3, 5, 9], _samples(3)
    ctx = EvalContext(ring(), seeds, torch.tensor([True, False, True]), step=7)
    out = EVALUATORS["w1"].fn(x, ctx)
    assert list(out) == evaluator_keys(("w1",)) == ["w1", "w1_se", "w1_floor", "w1_floor_se"]
    for i in (0, 2):
        y = ring().sample(80, derive_seed(seeds[i], "w1-reference"), dtype=torch.float64)
        a, b = _assignment_w1(x[i, :40], y[:40]), _assignment_w1(x[i, 40:80], y[40:])
        assert out["w1"][i] == pytest.approx((a + b) / 2, rel=1e-12)
        assert out["w1_se"][i] == pytest.approx(abs(a - b) / 2, rel=1e-10)
    assert math.isnan(out["w1"][1]) and math.isnan(out["w1_se"][1])
    floor = MW.w1_floor(ring(), 40)
    assert out["w1_floor"] == [floor.value] * 3 and out["w1_floor_se"] == [floor.se] * 3


def test_w1_evaluator_member_value_is_independent_of_the_others(small_blocks):
    x = _samples(3)
    everyone = run_evaluators(("w1",), x, EvalContext(ring(), [3, 5, 9], torch.ones(3, dtype=torch.bool), step=0))
    alone = run_evaluators(("w1",), x[1:2], EvalContext(ring(), [5], torch.ones(1, dtype=torch.bool), step=4))
    assert all(alone[k] == everyone[k][1:2] for k in everyone)
    assert len(set(everyone["w1"])) == 3


def test_w1_evaluator_threads_give_the_same_bits_and_the_floor_is_computed_once(small_blocks, monkeypatch):
    calls = []
    floor = MW.w1_floor
    monkeypatch.setattr(MW, "w1_floor", lambda *a, **k: calls.append(a) or floor(*a, **k))
    x, threads = _samples(4), torch.get_num_threads()
    ctx = EvalContext(ring(), [1, 2, 3, 4], torch.ones(4, dtype=torch.bool), step=0)
    try:
        torch.set_num_threads(1)
        serial = EVALUATORS["w1"].fn(x, ctx)
        torch.set_num_threads(2)
        parallel = EVALUATORS["w1"].fn(x, ctx)
    finally:
        torch.set_num_threads(threads)
    assert parallel == serial and len(calls) == 1
