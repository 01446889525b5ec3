"""The batched engine against an independent reference loop (``ganlab.training.reference``:
nn.Sequential, torch.optim, torch's BCE, its own packing, penalty and unroll), against itself at
other N and other grids, and its guarantees: no host sync in a step, divergence handling,
checkpoints."""

import dataclasses
import math

import pytest
import torch

from ganlab.data.sources import TensorSource
from ganlab.models.conv import DCGANSpec
from ganlab.training.config import Runtime
from ganlab.training.engine import Trainer
from ganlab.training.methods import MethodConfig, make_method
from ganlab.training.presets import metz_appendix, pacgan
from helpers import (F32, F64, assert_member_matches_reference, assert_members_equal_solo_runs, engine_names,
                     max_gap, record_draws, reference_for, restored, small, step_both, trained)

REFERENCE_CASES = {
    "nonsaturating": make_method("nonsaturating"),
    "minimax, k=2": make_method("vanilla", d_steps=2),
    "3 G steps per D step": make_method("nonsaturating", g_steps=3),
    "packed m=3": make_method("packed", pack=3),
    "simultaneous": make_method("nonsaturating", schedule="simultaneous"),
    "wgan (clip, RMSprop, k=5)": make_method("wgan"),
    "wgan-gp (λ=10, k=5)": make_method("wgan-gp"),
    "unrolled K=3, second order": make_method("unrolled", unroll=3),
    "unrolled K=2, first order": make_method("unrolled", unroll=2, unroll_order="first"),
    "unrolled K=0": make_method("unrolled", unroll=0),
    "sgd": make_method("nonsaturating", optimizer="sgd", lr_d=0.05, lr_g=0.05),
}


@pytest.mark.parametrize("case", list(REFERENCE_CASES))
def test_member_equals_the_reference_loop(case):
    """Member 1 of a 3-seed run equals the reference loop given member 1's initial weights and
    random inputs (float64: only summation order differs, ~1e-16 per step)."""
    t = Trainer(small(REFERENCE_CASES[case]), F64)
    assert_member_matches_reference(t, 15)


def test_pacgan_nets_equal_the_reference_loop():
    """PacGAN's nets (batch norm per pack slot, maxout D, no hidden bias), packed, simultaneous."""
    cfg = dataclasses.replace(pacgan(pack=2, seeds=(0, 1)), dataset_size=None)
    cfg = dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, batch_size=16))
    t = Trainer(cfg, F64)
    assert_member_matches_reference(t, 8)


@pytest.mark.parametrize("unroll", [0, 2])
def test_metz_appendix_nets_equal_the_reference_loop(unroll):
    """The unrolled-GAN paper's appendix-A nets: ReLU, orthogonal init, a one-layer D that scales
    its input by 1/4 (the reference prepends its own scaling module), alternating or unrolled.
    Adam's ε is 1e-4 here: its update lr·g/(|g| + ε) turns a rounding error in a gradient component
    near 0 into lr/ε times as much (with ε = 1e-8 the unrolled G then differs by ~2e-11 after one step;
    with 1e-4, by ~1e-15), and ReLU nets through unrolled steps have such components."""
    cfg = metz_appendix(unroll=unroll, seeds=(0, 1))
    method = dataclasses.replace(cfg.method, batch_size=16, lr_d=1e-2, lr_g=1e-2, eps=1e-4)
    cfg = dataclasses.replace(cfg, noise_dim=8, method=method)
    t = Trainer(cfg, F64)
    assert_member_matches_reference(t, 8)


def test_metz_appendix_is_the_appendix_protocol():
    """The preset's values are those its docstring attributes to Metz et al. 2017, appendix A
    (radius-2 ring of std 0.02; ReLU G 2 × 128; D input / 4 → 128 ReLU; orthogonal gain 0.8;
    Adam 1e-4 for both, β1 0.5; minimax; alternating, or unrolled with K > 0; z of 256)."""
    from ganlab.theory.targets import make_target

    c = metz_appendix()
    g, d, m = c.generator, c.discriminator, c.method
    assert (g.width, g.depth, g.activation, g.init, g.init_scale, g.input_scale) == (128, 2, "relu", "orthogonal", 0.8, 1.0)
    assert (d.width, d.depth, d.activation, d.init, d.init_scale, d.input_scale) == (128, 1, "relu", "orthogonal", 0.8, 0.25)
    assert (m.lr_d, m.lr_g, m.betas[0], m.generator_loss, m.schedule, m.unroll) == (1e-4, 1e-4, 0.5, "minimax", "alternating", 0)
    assert (c.noise_dim, c.method.batch_size, c.steps, len(c.seeds)) == (256, 512, 25_000, 5)
    t = make_target(c.target)
    torch.testing.assert_close(t.means.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    torch.testing.assert_close(t.mode_stds, torch.full((8, 2), 0.02, dtype=torch.float64))
    assert (metz_appendix(unroll=5).method.schedule, metz_appendix(unroll=5).method.unroll) == ("unrolled", 5)


def test_input_scale_multiplies_the_input_before_the_first_layer():
    """D(x) = W1ᵀ relu(W0ᵀ (s·x) + b0) + b1, written out by hand, for s = 1/4."""
    from ganlab.models.mlp import MLP, MLPSpec

    net = MLP(MLPSpec(width=5, depth=1, input_scale=0.25), (2,), (1,))
    p = net.init((0, 1), "discriminator", dtype=torch.float64)
    p = {k: v + 0.1 * torch.randn_like(v) for k, v in p.items()}  # nonzero biases
    x = torch.randn(2, 7, 2, dtype=torch.float64)
    hand = torch.relu((0.25 * x) @ p["w0"] + p["b0"]) @ p["w1"] + p["b1"]
    torch.testing.assert_close(net(p, x), hand, rtol=1e-12, atol=1e-12)


def test_gan_zoo_shaped_nets_equal_the_reference_loop():
    """Per-layer widths, LeakyReLU(0.2), batch norm in G and a tanh output (the GAN-zoo MNIST
    MLP's shape, small)."""
    from ganlab.models.mlp import MLPSpec

    cfg = dataclasses.replace(
        small(make_method("nonsaturating")),
        generator=MLPSpec(widths=(16, 32), activation="leaky_relu", batch_norm=True, out_activation="tanh"),
        discriminator=MLPSpec(widths=(24, 8), activation="leaky_relu"))
    t = Trainer(cfg, F64)
    start = {k: v[1].detach().clone() for k, v in t.params_g.items()}
    ref, log = reference_for(t, 1), record_draws(t, 1)
    step_both(t, ref, log, 10)
    # A bias right before batch norm has a mathematically zero gradient (batch norm removes the
    # mean): autograd returns rounding noise (~1e-17) that depends on the BLAS path, and Adam
    # divides it by ε = 1e-8, so those biases drift by ~lr·noise/ε per step, differently in the
    # engine and the reference (2.5e-12 apart after 10 steps on an Intel Xeon). They are checked
    # to have stayed where they started instead; every other parameter agrees to 1e-12.
    pre_bn = {f"b{i}" for i in range(len(cfg.generator.widths))}
    ref_g = engine_names(ref.G)
    for k in pre_bn:
        assert (t.params_g[k][1] - start[k]).abs().max() < 1e-10 and (ref_g[k] - start[k]).abs().max() < 1e-10, k
    assert max_gap({k: v for k, v in t.params_g.items() if k not in pre_bn}, ref_g, 1) < 1e-12
    assert max_gap(t.params_d, engine_names(ref.D), 1) < 1e-12
    assert t.generate(50).abs().max() < 1  # tanh


@pytest.mark.parametrize("rt", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", ["nonsaturating", "wgan-gp", "unrolled", "packed"])
def test_member_is_bit_identical_for_any_n(rt, name):
    """Seed 5's numbers after 10 steps are the same bits whether it trains alone, with 7 others or
    with 127 others (CPU; streams keyed by seed, members never mix, one BLAS path for any N)."""
    base = small(make_method(name), seeds=(5,))
    alone = trained(base, 10, rt)
    for n in (8, 128):
        seeds = tuple(range(100, 100 + n - 1)) + (5,)
        together = trained(dataclasses.replace(base, seeds=seeds), 10, rt)
        for k in alone.params_g:
            assert torch.equal(together.params_g[k][-1], alone.params_g[k][0]), (n, k)
        for k in alone.params_d:
            assert torch.equal(together.params_d[k][-1], alone.params_d[k][0]), (n, k)


@pytest.mark.parametrize("name,grid", [
    ("nonsaturating", {"lr_d": (1e-4, 1e-3)}),
    ("nonsaturating", {"lr_g": (2e-4, 5e-3)}),
    ("wgan", {"clip": (0.01, 0.05)}),
    ("wgan-gp", {"gp_lambda": (0.0, 0.1, 10.0)}),
    ("unrolled", {"lr_d": (1e-4, 3e-4)}),
])
def test_grid_member_equals_its_solo_run(name, grid):
    """Every (grid point, seed) member equals, bit for bit, the ungridded run of that seed with
    those values — λ = 0 included (the penalty's α stream shifts no other stream)."""
    cfg = small(make_method(name), seeds=(3, 5), grid=grid)
    t = assert_members_equal_solo_runs(cfg, 8)
    assert len(t.members) == 2 * math.prod(len(v) for v in grid.values())


def test_grid_member_order_does_not_depend_on_key_order():
    a = small(make_method("wgan-gp"), seeds=(1, 2), grid={"lr_d": (1e-4, 1e-3), "gp_lambda": (0.1, 10.0)})
    b = small(make_method("wgan-gp"), seeds=(1, 2), grid={"gp_lambda": (0.1, 10.0), "lr_d": (1e-4, 1e-3)})
    assert a.members() == b.members() and a.identity() == b.identity()
    assert list(a.members()[1].hyper) == ["gp_lambda", "lr_d"]


# -- no host syncs -------------------------------------------------------------------------------------------
class HostSync(AssertionError):
    pass


@pytest.fixture
def no_host_sync(monkeypatch):
    """Inside the block, any device→host read of a tensor fails: .item(), .tolist(), .numpy(),
    .cpu(), .to("cpu") (spelled out: code moving data to the run's own device stays allowed),
    bool()/float()/int() of a tensor. On CPU these are the calls that would each be a GPU
    synchronisation."""
    active = {"on": False}

    def guard(name, original):
        def wrapped(self, *args, **kwargs):
            if active["on"]:
                raise HostSync(f"Tensor.{name} inside a training step")
            return original(self, *args, **kwargs)
        return wrapped

    for name in ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, guard(name, getattr(torch.Tensor, name)))
    original_to = torch.Tensor.to

    def to(self, *args, **kwargs):
        dev = kwargs.get("device", args[0] if args else None)
        if active["on"] and isinstance(dev, str) and dev.startswith("cpu"):
            raise HostSync("Tensor.to('cpu') inside a training step")
        return original_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", to)
    return active


@pytest.mark.parametrize("name,kw", [
    ("nonsaturating", {}), ("wgan", {}), ("wgan-gp", {"grid": {"gp_lambda": (0.0, 1.0)}}), ("unrolled", {}),
    ("packed", {"dataset_size": 200}),
])
def test_a_training_step_makes_no_host_copy(no_host_sync, name, kw):
    t = Trainer(small(make_method(name), **kw), F32)
    t.train_step()  # the first step may build caches
    no_host_sync["on"] = True
    for _ in range(3):
        t.train_step()
    no_host_sync["on"] = False
    assert t.evaluate()  # the host reads at evaluation time


def test_the_guard_catches_a_host_read(no_host_sync):
    no_host_sync["on"] = True
    with pytest.raises(HostSync):
        torch.ones(2).sum().item()
    with pytest.raises(HostSync):
        bool(torch.ones(1) > 0)


# -- other model and data protocols ---------------------------------------------------------------------
def test_a_discriminator_trains_alone_against_a_fixed_known_generator():
    """With ``fixed_generator`` G is a known distribution: only D trains, and it learns to tell
    ring8 from a ring of radius 1.5: its mean loss over the last 100 steps falls well below log 4
    (the loss of D = 1/2 everywhere)."""
    cfg = small(make_method("nonsaturating", lr_d=1e-3), seeds=(0, 1), fixed_generator="ring8",
                fixed_generator_kwargs={"radius": 1.5})
    t = Trainer(cfg, F32)
    assert t.G is None and t.params_g == {}
    for _ in range(300):
        t.train_step()
    t.evaluate(())
    for _ in range(100):
        d_loss, g_loss = t.train_step()
    rows = t.evaluate(())
    assert all(r["d_loss"] < 0.5 * math.log(4) for r in rows), rows
    assert all(math.isnan(r["g_loss"]) for r in rows)


def test_a_conv_net_trains_through_the_same_engine_on_images():
    """A tiny DCGAN (torch.func ensemble) on random 8×8 images: trains, stays finite, and member 1
    of two equals its solo run."""
    images = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    spec = DCGANSpec(width=4, hidden=16)
    cfg = dataclasses.replace(small(make_method("nonsaturating"), seeds=(3, 5), batch_size=8),
                              generator=spec, discriminator=spec, noise_dim=8, evaluators=(), final_evaluators=())
    t = Trainer(cfg, F64, source=TensorSource(images))
    solo = Trainer(dataclasses.replace(cfg, seeds=(5,)), F64, source=TensorSource(images))
    before = {k: v.detach().clone() for k, v in t.params_g.items()}
    for _ in range(5):
        t.train_step()
        solo.train_step()
    assert all(torch.isfinite(v).all() for v in t.params_g.values())
    assert any((t.params_g[k] - before[k]).abs().max() > 0 for k in before)
    assert max((t.params_g[k][1] - solo.params_g[k][0]).abs().max().item() for k in before) < 1e-12
    assert t.generate(4).shape == (2, 4, 1, 8, 8)


def test_a_compiled_conv_net_gives_the_eager_numbers():
    """torch.compile of the torch.func conv ensemble (the image GANs' --compile path) trains the
    tiny DCGAN to the eager result: in float64 the two may differ only by reordered sums, amplified
    by Adam where a gradient is near zero (5e-13 after 3 steps when measured), so 1e-9 leaves room
    for rounding and none for a wrong graph (a formula slip moves parameters by ~lr = 1e-3)."""
    images = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    spec = DCGANSpec(width=4, hidden=16)
    cfg = dataclasses.replace(small(make_method("nonsaturating"), seeds=(3, 5), batch_size=8),
                              generator=spec, discriminator=spec, noise_dim=8, evaluators=(), final_evaluators=())
    compiled = Trainer(cfg, Runtime(dtype="float64", compile=True), source=TensorSource(images))
    eager = Trainer(cfg, F64, source=TensorSource(images))
    for _ in range(3):
        compiled.train_step()
        eager.train_step()
    for name in ("params_g", "params_d"):
        a, b = getattr(compiled, name), getattr(eager, name)
        assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-9


# -- the unrolled surrogate -------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [0, 1, 3])
def test_unrolled_loss_takes_k_discriminator_updates(k):
    """G's loss under schedule 'unrolled' evaluates D exactly K + 1 times on the fake batch (K
    unrolled updates, then the loss), counted on the discriminator's forward."""
    t = Trainer(small(make_method("unrolled", unroll=k)), F64)
    calls = []
    forward = t._forward_d
    t._forward_d = lambda p, x, labels=None: calls.append(x.shape) or forward(p, x, labels=labels)
    real, fake = t.real(0, 0), t.fake(0, 0, grad=True)
    calls.clear()
    t.g_loss(t.unrolled_discriminator(real, fake, 0, 0), fake, 0, 0)
    assert len(calls) == k + 1


def test_unroll_zero_is_bit_identical_to_the_simultaneous_gan():
    """Metz et al.: with K = 0 the surrogate f_0(θ_G, θ_D) = f(θ_G, θ_D)."""
    a = trained(small(make_method("unrolled", unroll=0)), 10, F32)
    b = trained(small(make_method("nonsaturating", schedule="simultaneous")), 10, F32)
    for k in a.params_g:
        assert torch.equal(a.params_g[k], b.params_g[k])


def test_first_unrolled_step_is_the_optimizer_step(monkeypatch):
    """θ_D^1 of the unroll equals θ_D after the optimizer's own in-place step on the same batch
    (with the unroll's ε under the root set to 0, which only exists for finite derivatives)."""
    t = trained(small(make_method("unrolled", unroll=1)), 3, F64)
    monkeypatch.setattr("ganlab.training.optim.SQRT_EPS", 0.0)
    real, fake = t.real(3, 0), t.fake(3, 0)
    unrolled = t.unrolled_discriminator(real, fake, 3, 0)
    _, grads = t.d_gradients(t.params_d, real, fake.detach(), 3, 0)
    t.update_d(grads)
    assert max((unrolled[k] - t.params_d[k]).abs().max().item() for k in unrolled) < 1e-15


def test_unrolled_gradient_matches_finite_differences():
    """d f(θ_G, θ_D^K(θ_G)) / dθ_G by autograd through K = 3 Adam steps equals a central finite
    difference (float64; step 1e-6: truncation ~1e-12, rounding ~1e-10)."""
    t = trained(small(make_method("unrolled", unroll=3), seeds=(1,)), 5, F64)
    real, z = t.real(5, 0), t.noise("noise", 5, 0, t.batch_rows)
    w = t.params_g["w1"]

    def surrogate() -> torch.Tensor:
        fake = t.generate_batch(z)
        return t.g_loss(t.unrolled_discriminator(real, fake, 5, 0), fake, 5, 0).sum()

    (grad,) = torch.autograd.grad(surrogate(), [w])
    idx, h = (0, 3, 7), 1e-6
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
    """The second-order term is not zero: cutting it changes the generator's gradient."""
    grads = {}
    for order in ("first", "second"):
        t = Trainer(small(make_method("unrolled", unroll=3, unroll_order=order), seeds=(1,)), F64)
        real, fake = t.real(0, 0), t.fake(0, 0, grad=True)
        loss = t.g_loss(t.unrolled_discriminator(real, fake, 0, 0), fake, 0, 0).sum()
        grads[order] = torch.autograd.grad(loss, [t.params_g["w0"]])[0]
    assert (grads["first"] - grads["second"]).abs().max() > 1e-8


def test_weight_clipping_bounds_every_critic_parameter_per_member():
    t = trained(small(make_method("wgan"), grid={"clip": (0.01, 0.02)}), 3, F32)
    for i, mb in enumerate(t.members):
        c = mb.hyper["clip"]
        assert all(p[i].abs().max() <= c for p in t.params_d.values())
        assert any(p[i].abs().max() == torch.tensor(c, dtype=p.dtype) for p in t.params_d.values())


# -- divergence ----------------------------------------------------------------------------------------------
def test_diverged_member_is_reported_frozen_and_others_continue():
    """A member whose weights turn NaN stops at once, is reported at the next evaluation with its
    step and seed, goes back to its weights at the previous evaluation, and the other members
    follow exactly the run without it."""
    cfg = small(make_method("nonsaturating"))
    t, ref = Trainer(cfg, F32), Trainer(dataclasses.replace(cfg, seeds=(3, 7)), F32)
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
    rows = t.evaluate()
    assert [(d.member, d.seed, d.step) for d in t.divergences] == [(1, 5, 5)]
    assert torch.equal(t.params_g["w0"][1], frozen)
    assert [r["alive"] for r in rows] == [True, False, True]
    assert math.isnan(rows[1]["modes_captured"])
    assert math.isnan(rows[1]["d_loss"]) and math.isfinite(rows[0]["d_loss"])  # no finite step since the last look
    for k in t.params_g:
        assert torch.equal(t.params_g[k][[0, 2]], ref.params_g[k])
    for _ in range(3):
        t.train_step()
    assert torch.equal(t.params_g["w0"][1], frozen)  # stays frozen


@pytest.mark.parametrize("name,kw", [
    ("wgan", {"grid": {"lr_g": (5e-5, 1e-4), "clip": (0.01, 0.02)}}),
    ("packed", {"dataset_size": 500}),
    ("unrolled", {"grid": {"lr_d": (1e-4, 1e-3)}}),
])
def test_checkpoint_round_trip_continues_bit_identically(name, kw):
    """state_dict → torch.save → torch.load(weights_only=True) → a fresh Trainer continues exactly
    as the uninterrupted one: per-member optimizers (grids), epochs over a fixed set, a diverged
    member's mask and snapshot, running loss sums."""
    cfg = small(make_method(name), seeds=(3, 5), **kw)
    whole, first = Trainer(cfg, F32), Trainer(cfg, F32)
    for t in (whole, first):
        for _ in range(4):
            t.train_step()
        t.evaluate()
        with torch.no_grad():
            t.params_g["w0"][1, 0, 0] = math.nan  # member 1 diverges at step 5
        for _ in range(3):
            t.train_step()
    resumed = restored(first, cfg, F32)
    for t in (whole, resumed):
        for _ in range(6):
            t.train_step()
    a, b = whole.evaluate(), resumed.evaluate()
    assert [d.step for d in resumed.divergences] == [d.step for d in whole.divergences] != []
    for k in whole.params_g:
        assert torch.equal(whole.params_g[k], resumed.params_g[k]), k
    for k in whole.params_d:
        assert torch.equal(whole.params_d[k], resumed.params_d[k]), k
    assert str(a) == str(b)  # NaN-safe equality of every row


# -- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad,match", [
    (dict(pack=0), "pack must be an integer >= 1, got 0"),
    (dict(generator_loss="sideways"), "unknown generator loss 'sideways'"),
    (dict(generator_loss="wasserstein"), "generator loss 'wasserstein' does not pair with loss 'gan'"),
    (dict(lr_d=-1.0), "lr_d must be a positive finite number, got -1.0"),
    (dict(schedule="unrolled", loss="wasserstein", generator_loss="wasserstein"), "unrolled schedule"),
    (dict(unroll=2), "unroll=2 needs schedule 'unrolled'"),
    (dict(g_steps=2, schedule="simultaneous"), "g_steps=2 needs schedule 'alternating'"),
    (dict(schedule="sideways"), "unknown schedule 'sideways'"),
])
def test_bad_method_is_refused_with_its_value(bad, match):
    with pytest.raises(ValueError, match=match):
        MethodConfig(**bad)


@pytest.mark.parametrize("bad,match", [
    (dict(seeds=()), "at least one seed"),
    (dict(seeds=(1, 1)), "distinct"),
    (dict(seeds=(-1,)), "seed must be an integer >= 0, got -1"),
    (dict(target="moons"), "unknown target 'moons'"),
    (dict(target_kwargs={"std": -0.1}), "std must be a positive finite number, got -0.1"),
    (dict(dataset_size=10), "dataset_size 10 is smaller than one batch"),
    (dict(grid={"width": (64, 128)}), "unknown grid field 'width'"),
    (dict(grid={"lr_g": (1e-3, -1.0)}), "lr_g must be a positive finite number, got -1.0"),
    (dict(grid={"lr_d": (1e-3, 1e-3)}), "repeats a value"),
    (dict(evaluators=("fid",)), "unknown evaluator 'fid'"),
    (dict(fixed_generator="moons"), "unknown fixed generator 'moons'"),
])
def test_bad_run_config_is_refused_with_its_value(bad, match):
    with pytest.raises(ValueError, match=match):
        small(make_method("nonsaturating"), **bad)


def test_batch_norm_with_a_batch_of_one_is_refused():
    cfg = pacgan()
    with pytest.raises(ValueError, match="batch norm, which needs at least 2 rows"):
        dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, batch_size=1))


@pytest.mark.parametrize("device,match", [
    ("cpufoo", "device must be 'cpu', 'cuda' or 'cuda:<index>', got 'cpufoo'"),
    ("cuda:abc", "got 'cuda:abc'"),
])
def test_bad_device_is_refused(device, match):
    with pytest.raises(ValueError, match=match):
        Runtime(device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_on_a_cpu_only_torch_is_refused():
    with pytest.raises(ValueError, match="device 'cuda' is not available"):
        Runtime(device="cuda")


# -- runtime options --------------------------------------------------------------------------------------
def test_bf16_autocast_trains_float32_parameters_close_to_float32():
    """dtype bfloat16: networks under bf16 autocast, parameters float32. After 5 steps the bf16
    run differs from the float32 one (autocast is on), by a small fraction of how far the float32
    run moved from its initial weights (2-norms over G's parameters): bf16 keeps 8 bits, and
    Adam's per-coordinate normalisation amplifies the rounding of near-zero gradients — measured
    ≈ 4 %; a bound of 25 % still fails a run that does not follow the float32 trajectory."""
    cfg = small(make_method("nonsaturating", lr_d=1e-3, lr_g=1e-3), seeds=(1, 2))
    init = Trainer(cfg, F32).params_g
    a, b = trained(cfg, 5, Runtime(dtype="bfloat16")), trained(cfg, 5, F32)
    assert a.params_g["w0"].dtype == torch.float32

    def norm(x, y):
        return sum(((x[k] - y[k]).detach() ** 2).sum() for k in y).sqrt().item()

    gap, moved = norm(a.params_g, b.params_g), norm(b.params_g, init)
    assert 0 < gap < 0.25 * moved


def test_torch_compile_gives_the_eager_numbers():
    """torch.compile of the networks' forward passes (CPU inductor) trains to the eager result;
    compiled kernels may reorder float32 sums, so compare to rounding over 3 steps."""
    cfg = small(make_method("nonsaturating"), seeds=(1, 2))
    a, b = trained(cfg, 3, Runtime(compile=True)), trained(cfg, 3, F32)
    assert max((a.params_g[k] - b.params_g[k]).abs().max().item() for k in a.params_g) < 1e-6


def test_compiled_trainers_in_one_process_stay_compiled():
    """Dynamo keeps at most 8 compiled variants per code object and then silently runs eager; one
    trainer needs about 5 of its network's ``__call__`` (G and D, with and without grad, the
    evaluation batch). Three compiled trainers of different widths in one process (as in a sweep
    or a benchmark) must each get their own: dynamo is told to fail instead of falling back."""
    import torch._dynamo

    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
        for width in (8, 16, 24):
            t = trained(small(make_method("nonsaturating"), seeds=(1,), width=width), 2, Runtime(compile=True))
            t.evaluate()
            t.train_step()


# -- class-conditional runs ---------------------------------------------------------------------------------
def test_a_conditional_gan_uses_the_labels():
    """classes = 8 on ring8 (labels = mixture components): D sees the real samples' components and
    the generator's labels; a member equals its solo run; changing only the labels changes D's
    output; generation takes given labels."""
    cfg = small(make_method("nonsaturating", lr_d=1e-3, lr_g=1e-3), seeds=(3, 5), classes=8)
    t, solo = Trainer(cfg, F32), Trainer(dataclasses.replace(cfg, seeds=(5,)), F32)
    x, y = t.real(0, 0), t.real_labels(0, 0)
    centres = t.target.means.to(torch.float32)
    assert (((x - centres[y]).norm(dim=-1)) < 0.1).all()  # each real sample lies at its label's mode
    for _ in range(5):
        t.train_step()
        solo.train_step()
    for k in t.params_g:
        assert torch.equal(t.params_g[k][1], solo.params_g[k][0])
    logits = t.discriminate(t.params_d, x, y)
    assert not torch.equal(logits, t.discriminate(t.params_d, x, (y + 1) % 8))
    samples = t.generate(6, labels=torch.zeros(2, 6, dtype=torch.int64))
    assert samples.shape == (2, 6, 2)


def test_conditional_runs_refuse_packing_and_unlabelled_data():
    with pytest.raises(ValueError, match="cannot be packed"):
        small(make_method("packed"), classes=8)
    with pytest.raises(ValueError, match="classes=3, but the data has 8 class labels"):
        Trainer(small(make_method("nonsaturating"), classes=3), F32)
