"""Shared helpers for the training tests: small configurations, recording a member's random
inputs, and reading a reference loop's weights in the engine's naming."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ganlab.models.mlp import MLPSpec
from ganlab.training.config import Runtime, TrainConfig
from ganlab.training.engine import Trainer
from ganlab.training.methods import MethodConfig
from ganlab.training.presets import quick
from ganlab.training.reference import ReferenceGAN


def small(method: MethodConfig, seeds=(3, 5, 7), width: int = 32, **kw) -> TrainConfig:
    """The quick preset with small nets and batch 32 (fast), any method."""
    batch = kw.pop("batch_size", 32)
    return dataclasses.replace(
        quick(seeds=seeds), method=dataclasses.replace(method, batch_size=batch),
        generator=MLPSpec(width=width, depth=2), discriminator=MLPSpec(width=width, depth=2), **kw)


F64 = Runtime(dtype="float64")
F32 = Runtime(dtype="float32")


def record_draws(trainer: Trainer, member: int) -> dict[str, list[torch.Tensor]]:
    """Wrap the trainer's random inputs so that member ``member``'s real batches, generator noise
    and gradient-penalty α are recorded in the order the engine draws them."""
    log: dict[str, list[torch.Tensor]] = {"real": [], "noise": [], "alpha": []}
    real, noise, uniform = trainer.real, trainer.noise, trainer.streams.uniform

    def rec_real(step, sub):
        x = real(step, sub)
        log["real"].append(x[member].detach().clone())
        return x

    def rec_noise(purpose, step, sub, n):
        z = noise(purpose, step, sub, n)
        if purpose == "noise":
            log["noise"].append(z[member].detach().clone())
        return z

    def rec_uniform(purpose, step, sub, shape, dtype=torch.float32):
        u = uniform(purpose, step, sub, shape, dtype)
        if purpose == "gp-alpha":
            log["alpha"].append(u[member].detach().clone())
        return u

    trainer.real, trainer.noise, trainer.streams.uniform = rec_real, rec_noise, rec_uniform
    return log


def reference_for(trainer: Trainer, member: int) -> ReferenceGAN:
    """A ReferenceGAN holding member ``member``'s initial weights and method."""
    cfg = trainer.cfg
    g = {k: v[member].detach().clone() for k, v in trainer.params_g.items()}
    d = {k: v[member].detach().clone() for k, v in trainer.params_d.items()}
    return ReferenceGAN(cfg, cfg.member_method(trainer.members[member]), g, d, trainer.source.shape[0])


def step_both(trainer: Trainer, ref: ReferenceGAN, log: dict, steps: int) -> None:
    for _ in range(steps):
        for v in log.values():
            v.clear()
        trainer.train_step()
        alpha = log["alpha"] or [None] * len(log["real"])
        ref.train_step(log["real"], log["noise"], alpha)


def assert_member_matches_reference(trainer: Trainer, steps: int, member: int = 1) -> None:
    """``member`` of ``trainer`` and the plain reference loop of the same seed, stepped together on
    the member's own draws, end within 1e-12 in every parameter of G and D (float64)."""
    ref, log = reference_for(trainer, member), record_draws(trainer, member)
    step_both(trainer, ref, log, steps)
    assert max_gap(trainer.params_g, engine_names(ref.G), member) < 1e-12
    assert max_gap(trainer.params_d, engine_names(ref.D), member) < 1e-12


def trained(cfg: TrainConfig, steps: int, runtime: Runtime = F32) -> Trainer:
    """A trainer of ``cfg`` after ``steps`` steps."""
    t = Trainer(cfg, runtime)
    for _ in range(steps):
        t.train_step()
    return t


def assert_members_equal_solo_runs(cfg: TrainConfig, steps: int) -> Trainer:
    """Every (grid point, seed) member of ``cfg`` after ``steps`` steps equals, bit for bit, the
    ungridded run of that seed with those values; returns the gridded trainer."""
    t = trained(cfg, steps)
    for i, mb in enumerate(t.members):
        solo = trained(dataclasses.replace(cfg, seeds=(mb.seed,), grid={}, method=cfg.member_method(mb)), steps)
        for k in solo.params_g:
            assert torch.equal(t.params_g[k][i], solo.params_g[k][0]), (mb, k)
        for k in solo.params_d:
            assert torch.equal(t.params_d[k][i], solo.params_d[k][0]), (mb, k)
    return t


def assert_train_refused(argv: list[str], match: str, tmp_path, capsys) -> None:
    """``ganlab train ARGV`` exits 2 with ``match`` in its error, no traceback, and no run folder."""
    from ganlab.cli import main

    out = tmp_path / "run"
    assert main(["train", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err, err
    assert not out.exists()


def engine_names(seq: nn.Sequential) -> dict[str, torch.Tensor]:
    """A reference nn.Sequential's parameters under the engine's names (w{i} as [in, out])."""
    out, layer = {}, 0
    for mod in seq:
        if isinstance(mod, nn.Linear):
            out[f"w{layer}"] = mod.weight.detach().T
            if mod.bias is not None:
                out[f"b{layer}"] = mod.bias.detach()[None]
            layer += 1
        elif isinstance(mod, nn.BatchNorm1d):
            out[f"bn_w{layer - 1}"] = mod.weight.detach()[None]
            out[f"bn_b{layer - 1}"] = mod.bias.detach()[None]
    return out


def max_gap(trainer_params: dict, ref_params: dict, member: int) -> float:
    return max((trainer_params[k][member].detach() - ref_params[k]).abs().max().item() for k in trainer_params)


def restored(trainer: Trainer, cfg: TrainConfig, runtime: Runtime) -> Trainer:
    """A fresh trainer holding ``trainer``'s state after a round trip through torch.save/load, as a
    checkpoint makes it."""
    import io

    buf = io.BytesIO()
    torch.save(trainer.state_dict(), buf)
    buf.seek(0)
    fresh = Trainer(cfg, runtime)
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    return fresh
