"""The batched engine against independent references: the naive per-seed loop, single-member runs,
finite differences through the unroll, and the published update rules."""

import dataclasses
import math

import pytest
import torch

from ganlab.training.config import TrainConfig
from ganlab.training.engine import Trainer
from ganlab.training.losses import gradient_penalty
from ganlab.training.methods import MethodConfig, make_method
from ganlab.training.reference import NaiveGAN
from ganlab.models.mlp import NetSpec
from ganlab.training.presets import pacgan, quick


def small(method: MethodConfig, name: str = "nonsaturating", seeds=(3, 5, 7), dtype="float64", **kw) -> TrainConfig:
    return dataclasses.replace(
        quick(seeds=seeds), method=dataclasses.replace(method, batch_size=32), method_name=name, dtype=dtype,
        generator=NetSpec(width=32, depth=2), discriminator=NetSpec(width=32, depth=2), **kw,
    )


def max_gap(a: dict, b: dict, i: int, j: int = 0) -> float:
    return max((a[k][i] - b[k][j]).abs().max().item() for k in a)


NAIVE_CASES = {
    "nonsaturating": make_method("nonsaturating"),
    "minimax, k=2": make_method("vanilla", d_steps=2),
    "packed m=3": make_method("packed", pack=3),
    "simultaneous": make_method("nonsaturating", simultaneous=True),
}


@pytest.mark.parametrize("case", list(NAIVE_CASES))
def test_member_equals_naive_single_run(case):
    """Member i of a batched run of 3 seeds equals the plain nn.Sequential + Adam loop with seed i
    (float64: only summation order differs, ~1e-16 per step)."""
    cfg = small(NAIVE_CASES[case])
    trainer, naive = Trainer(cfg), NaiveGAN(cfg, seed=5)
    for _ in range(40):
        trainer.train_step()
        naive.train_step()
    last = cfg.generator.depth
    gap = (trainer.params_g[f"w{last}"][1] - naive.G[-1].weight.t()).abs().max().item()
    assert gap < 1e-12


def test_pacgan_protocol_member_equals_naive_run():
    """PacGAN's nets (batch norm per pack slot, maxout D, no hidden bias), packed, simultaneous."""
    cfg = dataclasses.replace(pacgan(pack=2, seeds=(0, 1)), dtype="float64", dataset_size=None)
    cfg = dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, batch_size=16))
    trainer, naive = Trainer(cfg), NaiveGAN(cfg, seed=1)
    for _ in range(10):
        trainer.train_step()
        naive.train_step()
    assert (trainer.params_g["w4"][1] - naive.G[-1].weight.t()).abs().max().item() < 1e-12


@pytest.mark.parametrize("name,kw", [
    ("wgan", {}), ("wgan-gp", {}), ("unrolled", {}), ("unrolled", {"unroll_order": "first", "unroll": 2}),
    ("packed", {"pack": 4}),
])
def test_member_equals_single_seed_run(name, kw):
    """Member 1 of seeds (3, 5, 7) equals the run with seeds (5,) alone, for every method."""
    cfg = small(make_method(name, **kw), name=name)
    a, b = Trainer(cfg), Trainer(dataclasses.replace(cfg, seeds=(5,)))
    for _ in range(15):
        a.train_step()
        b.train_step()
    assert max_gap(a.params_g, b.params_g, 1) < 1e-12
    assert max_gap(a.params_d, b.params_d, 1) < 1e-12


def test_float32_member_matches_over_few_steps():
    """In float32 members agree to rounding; GAN dynamics amplify it, so compare over 5 steps."""
    cfg = small(make_method("nonsaturating"), dtype="float32")
    a, b = Trainer(cfg), Trainer(dataclasses.replace(cfg, seeds=(7,)))
    for _ in range(5):
        a.train_step()
        b.train_step()
    assert max_gap(a.params_g, b.params_g, 2) < 1e-5


@pytest.mark.parametrize("simultaneous", [False, True])
def test_unroll_zero_is_the_standard_gan(simultaneous):
    """Metz et al.: with K = 0 the unrolled surrogate f_0(θ_G, θ_D) = f(θ_G, θ_D), so the unrolled
    method's update is exactly the standard GAN update (checked against the naive loop)."""
    cfg = small(make_method("unrolled", unroll=0, simultaneous=simultaneous), name="unrolled")
    trainer, naive = Trainer(cfg), NaiveGAN(cfg, seed=3)
    for _ in range(25):
        trainer.train_step()
        naive.train_step()
    assert (trainer.params_g["w2"][0] - naive.G[-1].weight.t()).abs().max().item() < 1e-12
    assert (trainer.params_d["w2"][0] - naive.D[-1].weight.t()).abs().max().item() < 1e-12


def _one_batch(trainer: Trainer):
    b = trainer.cfg.method.batch_size
    return trainer.real(b), trainer.noise(b)


def test_first_unrolled_step_is_the_real_adam_step(monkeypatch):
    """θ_D^1 of the unroll equals θ_D after the optimizer's own step on the same batch. The unroll
    adds ε_in = 1e-16 under the root (only for a finite derivative at v = 0); with it set to 0 the
    two Adam implementations must agree to rounding."""
    cfg = small(make_method("unrolled", unroll=1), name="unrolled")
    t = Trainer(cfg)
    for _ in range(3):
        t.train_step()
    assert t.alive.all()
    monkeypatch.setattr("ganlab.training.methods._SQRT_EPS", 0.0)  # after training: its gradients need it
    real, z = _one_batch(t)
    fake = t.generate_batch(z)
    unrolled = t.unrolled_discriminator(real, fake)
    loss = t.d_loss(t.params_d, real, fake.detach())
    t._apply(t.opt_d, t.params_d, torch.autograd.grad(loss.sum(), list(t.params_d.values())))
    gap = max((unrolled[k] - t.params_d[k]).abs().max().item() for k in unrolled)
    assert gap < 1e-15


def test_unrolled_gradient_matches_finite_differences():
    """d f(θ_G, θ_D^K(θ_G)) / dθ_G by autograd through K = 3 Adam steps equals a central finite
    difference (float64; step 1e-6, so truncation error ~1e-12 and rounding ~1e-10)."""
    cfg = small(make_method("unrolled", unroll=3), name="unrolled", seeds=(1,))
    t = Trainer(cfg)
    for _ in range(5):
        t.train_step()
    real, z = _one_batch(t)
    w = t.params_g["w1"]

    def surrogate() -> torch.Tensor:
        fake = t.generate_batch(z)
        return t.g_loss(t.unrolled_discriminator(real, fake), fake).sum()

    (grad,) = torch.autograd.grad(surrogate(), [w])
    idx = (0, 3, 7)
    h = 1e-6
    with torch.no_grad():
        w[idx] += h
    up = surrogate().item()
    with torch.no_grad():
        w[idx] -= 2 * h
    down = surrogate().item()
    with torch.no_grad():
        w[idx] += h
    numeric = (up - down) / (2 * h)
    assert abs(grad[idx].item() - numeric) < 1e-7 * max(1.0, abs(numeric))


def test_second_order_unroll_differs_from_first_order():
    """The second-order term (through θ_D^K's dependence on θ_G) is not zero: the two orders give
    different generator gradients (if the unroll were cut, they would coincide)."""
    cfg = small(make_method("unrolled", unroll=3), name="unrolled", seeds=(1,))
    grads = {}
    for order in ("first", "second"):
        t = Trainer(dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, unroll_order=order)))
        real, z = _one_batch(t)
        fake = t.generate_batch(z)
        loss = t.g_loss(t.unrolled_discriminator(real, fake), fake).sum()
        grads[order] = torch.autograd.grad(loss, [t.params_g["w0"]])[0]
    assert (grads["first"] - grads["second"]).abs().max() > 1e-8


def test_gradient_penalty_of_a_linear_critic():
    """For f(x) = w·x the gradient is w everywhere, so the penalty is (‖w‖ − 1)² exactly."""
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    real = torch.randn(2, 10, 2, dtype=torch.float64)
    fake = torch.randn(2, 10, 2, dtype=torch.float64)
    gp = gradient_penalty(lambda x: x @ w[:, None], real, fake, torch.rand(2, 10, dtype=torch.float64))
    assert torch.allclose(gp, torch.full((2,), 16.0, dtype=torch.float64))


def test_weight_clipping_bounds_every_critic_parameter():
    cfg = small(make_method("wgan", clip=0.01), name="wgan")
    t = Trainer(cfg)
    for _ in range(3):
        t.train_step()
    assert all(p.abs().max() <= 0.01 for p in t.params_d.values())


def test_diverged_member_is_reported_frozen_and_others_continue():
    """A member whose weights turn NaN is reported with its step and seed, goes back to its last
    evaluated weights, and the other members follow exactly the run without it."""
    cfg = small(make_method("nonsaturating"))
    t, ref = Trainer(cfg), Trainer(dataclasses.replace(cfg, seeds=(3, 7)))
    for trainer in (t, ref):
        for _ in range(4):
            trainer.train_step()
        trainer.evaluate()
    frozen = t.params_g["w0"][1].detach().clone()
    with torch.no_grad():
        t.params_g["w0"][1, 0, 0] = math.nan
    for trainer in (t, ref):
        for _ in range(6):
            trainer.train_step()
    assert [(d.member, d.seed, d.step) for d in t.divergences] == [(1, 5, 5)]
    assert torch.equal(t.params_g["w0"][1], frozen)
    for k in t.params_g:
        assert (t.params_g[k][[0, 2]] - ref.params_g[k]).abs().max() < 1e-12
    rows = t.evaluate()
    assert [r["alive"] for r in rows] == [True, False, True]


@pytest.mark.parametrize("bad,match", [
    (dict(pack=0), "pack must be an integer >= 1, got 0"),
    (dict(generator_loss="hinge"), "unknown generator loss .*'hinge'"),
    (dict(lr_d=-1.0), "lr_d must be a positive finite number, got -1.0"),
    (dict(loss="wasserstein", generator_loss="wasserstein", unroll=2), "unroll=2"),
])
def test_bad_method_is_refused_with_its_value(bad, match):
    with pytest.raises(ValueError, match=match):
        MethodConfig(**bad)


@pytest.mark.parametrize("bad,match", [
    (dict(seeds=()), "at least one seed"),
    (dict(seeds=(1, 1)), "distinct"),
    (dict(target="moons"), "unknown target 'moons'"),
    (dict(target_kwargs={"std": -0.1}), "std must be a positive finite number, got -0.1"),
    (dict(dtype="float16"), "unknown dtype 'float16'"),
    (dict(dataset_size=10), "dataset_size 10 is smaller than one batch"),
])
def test_bad_run_config_is_refused_with_its_value(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**bad)


@pytest.mark.parametrize("name,grid", [
    ("nonsaturating", {"lr_d": (1e-4, 1e-3), "lr_g": (2e-4,)}),
    ("unrolled", {"lr_d": (1e-4, 3e-4)}),
    ("wgan", {"clip": (0.01, 0.05), "lr_g": (5e-5, 1e-4)}),
    ("wgan-gp", {"gp_lambda": (0.1, 10.0)}),
])
def test_grid_member_equals_a_run_with_those_values(name, grid):
    """A hyperparameter grid trains every seed at every point in one batched run; the member
    (point, seed) equals the ungridded run of that seed with those values (torch's own fused
    optimizers there, ganlab.optim's per-member ones in the grid: equal to rounding)."""
    cfg = small(make_method(name), name=name, seeds=(3, 5), grid=grid)
    t = Trainer(cfg)
    last = t.members[-1]
    single = Trainer(dataclasses.replace(cfg, seeds=(last.seed,), grid={},
                                         method=dataclasses.replace(cfg.method, **last.hyper)))
    for _ in range(12):
        t.train_step()
        single.train_step()
    assert len(t.members) == 2 * math.prod(len(v) for v in grid.values())
    assert max_gap(t.params_g, single.params_g, t.n - 1) < 1e-12
    assert max_gap(t.params_d, single.params_d, t.n - 1) < 1e-12
    rows = t.evaluate()
    assert all(rows[i][k] == t.members[i].hyper[k] for i in range(t.n) for k in grid)


def test_grid_field_outside_the_method_is_refused():
    with pytest.raises(ValueError, match="unknown grid field 'width'"):
        small(make_method("nonsaturating"), grid={"width": (64, 128)})
    with pytest.raises(ValueError, match="lr_g must be a positive finite number, got -1.0"):
        small(make_method("nonsaturating"), grid={"lr_g": (1e-3, -1.0)})


@pytest.mark.parametrize("name,kw", [
    ("wgan", {"grid": {"lr_g": (5e-5, 1e-4), "clip": (0.01, 0.02)}}),
    ("packed", {"dataset_size": 500}),
    ("unrolled", {"grid": {"lr_d": (1e-4, 1e-3)}}),
])
def test_checkpoint_round_trip_continues_bit_identically(name, kw):
    """state_dict → torch.save → torch.load(weights_only=True) → a fresh Trainer continues exactly
    as the uninterrupted one: per-member optimizers (grids), epoch shuffles of a fixed data set,
    a diverged member's snapshot and mask, running loss sums."""
    import io

    cfg = small(make_method(name), name=name, seeds=(3, 5), **kw)
    whole, first = Trainer(cfg), Trainer(cfg)
    for t in (whole, first):
        for _ in range(4):
            t.train_step()
        t.evaluate()
        with torch.no_grad():
            t.params_g["w0"][1, 0, 0] = math.nan  # member 1 diverges at step 5
        for _ in range(3):
            t.train_step()
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    buf.seek(0)
    resumed = Trainer(cfg)
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    for t in (whole, resumed):
        for _ in range(6):
            t.train_step()
    assert [d.step for d in resumed.divergences] == [d.step for d in whole.divergences] == [5]
    for k in whole.params_g:
        assert torch.equal(whole.params_g[k], resumed.params_g[k]), k
    for k in whole.params_d:
        assert torch.equal(whole.params_d[k], resumed.params_d[k]), k
    assert whole.evaluate() == resumed.evaluate()
