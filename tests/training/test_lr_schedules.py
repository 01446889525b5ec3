"""Learning-rate schedules: their values (by hand and torch.optim.lr_scheduler's own), the batched
optimizers and the engine following torch's schedulers member by member, members equal to their
solo runs, bit-identical resumption, the configuration (identity, CLI, sweeps, bad input) and the
experiments' decay phase."""

import dataclasses
import json
import math

import pytest
import torch

from ganlab.cli import main
from ganlab.training.config import TrainConfig
from ganlab.training.engine import Trainer
from ganlab.training.lr_schedules import LR_SCHEDULES, PARAMETERS, Constant, Cosine, Linear, Step, make_lr_schedule
from ganlab.training.methods import MethodConfig, make_method
from ganlab.training.optim import OPTIMIZERS
from helpers import F32, F64, assert_member_matches_reference, assert_members_equal_solo_runs, restored, small, trained
from test_engine import HostSync, no_host_sync  # noqa: F401 (the fixture)

L = torch.optim.lr_scheduler


# -- the values ------------------------------------------------------------------------------------------
def test_each_schedule_s_factors_by_hand():
    assert [Constant().factor(t) for t in (0, 1, 10**6)] == [1.0, 1.0, 1.0]
    assert [Step(step_size=3, gamma=0.5).factor(t) for t in range(8)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    lin = Linear(horizon=4, final_factor=0.2)
    assert [lin.factor(t) for t in (0, 1, 2, 3, 4, 5, 100)] == pytest.approx([1, 0.8, 0.6, 0.4, 0.2, 0.2, 0.2], rel=1e-15)
    cos = Cosine(horizon=4, final_factor=0.2)
    half = 0.2 + 0.8 * (1 + math.sqrt(0.5)) / 2  # t = 1: cos(π/4) = √½
    assert [cos.factor(t) for t in (0, 1, 2, 4, 9)] == pytest.approx([1, half, 0.6, 0.2, 0.2], rel=1e-15)
    assert Linear(horizon=10).factor(10) == 0.0 and Cosine(horizon=10).factor(10) == 0.0  # default: down to 0


SCHEDULERS = {  # ours, and torch's scheduler on an optimizer of base rate lr
    "step": (Step(step_size=3, gamma=0.3), lambda opt, lr: L.StepLR(opt, step_size=3, gamma=0.3)),
    "linear": (Linear(horizon=7, final_factor=0.05), lambda opt, lr: L.LinearLR(opt, 1.0, 0.05, total_iters=7)),
    "cosine": (Cosine(horizon=7, final_factor=0.05), lambda opt, lr: L.CosineAnnealingLR(opt, T_max=7, eta_min=0.05 * lr)),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
@pytest.mark.parametrize("base", [1e-3, 0.37])
def test_rates_are_torch_s_schedulers_rates(name, base):
    """lr · factor(t) against torch's scheduler stepped t times on a dummy optimizer (its chainable
    step() multiplies the previous rate: equal to rounding), and bit for bit against torch's closed
    form for StepLR and LinearLR (the same arithmetic; cosine's eta_min + (lr − eta_min)·c is
    ordered differently), over the horizon (torch's cosine would climb back after it)."""
    ours, make = SCHEDULERS[name]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = make(opt, base)
    for t in range(8):
        rate = base * ours.factor(t)
        assert rate == pytest.approx(opt.param_groups[0]["lr"], rel=1e-14, abs=0), t
        (closed,) = sched._get_closed_form_lr()
        if name == "cosine":
            assert rate == pytest.approx(closed, rel=1e-15, abs=0), t
        else:
            assert rate == closed, t
        opt.step()
        sched.step()


# -- the optimizers --------------------------------------------------------------------------------------
HYPER = dict(betas=(0.5, 0.9), eps=1e-8, rmsprop_alpha=0.9)
TORCH = {"adam": lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=HYPER["betas"], eps=HYPER["eps"], foreach=False),
         "rmsprop": lambda ps, lr: torch.optim.RMSprop(ps, lr=lr, alpha=HYPER["rmsprop_alpha"], eps=HYPER["eps"],
                                                       foreach=False),
         "sgd": lambda ps, lr: torch.optim.SGD(ps, lr=lr, foreach=False)}


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_each_member_follows_torch_with_a_scheduler(opt_name, name):
    """Member i with base rate lr[i] and factor(t) at step t equals torch.optim with lr[i] and
    torch's scheduler stepped after each step, over 12 steps of random gradients (float64; two
    members share a rate, so Adam's groups are exercised)."""
    ours, make = SCHEDULERS[name]
    g = torch.Generator().manual_seed(4)
    lrs = torch.tensor([1e-2, 3e-1, 1e-2], dtype=torch.float64)
    w = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    opt = OPTIMIZERS[opt_name]([w], lrs, **HYPER)
    singles = [w[i].clone().requires_grad_(True) for i in range(3)]
    refs = [TORCH[opt_name]([p], float(lr)) for p, lr in zip(singles, lrs)]
    scheds = [make(r, float(lr)) for r, lr in zip(refs, lrs)]
    for t in range(12):
        grad = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
        opt.set_lr_factor(ours.factor(t))
        opt.step([grad])
        for i in range(3):
            singles[i].grad = grad[i].clone()
            refs[i].step()
            if not (name == "cosine" and scheds[i].last_epoch >= 7):  # ours holds after the horizon
                scheds[i].step()
    for i in range(3):
        assert torch.allclose(w[i], singles[i].detach(), rtol=1e-13, atol=1e-15), i


def test_assigning_an_optimizer_s_rate_is_refused():
    """The experiments once did ``opt.lr = opt.lr / 10``, which changed nothing; now it fails."""
    opt = OPTIMIZERS["adam"]([torch.zeros(2, 3)], torch.full((2,), 1e-3, dtype=torch.float64), **HYPER)
    with pytest.raises(AttributeError, match="learning-rate schedule"):
        opt.lr = opt.lr / 10


# -- the engine ------------------------------------------------------------------------------------------
SCHEDULE_FIELDS = {
    "step": dict(lr_schedule="step", lr_step_size=4, lr_gamma=0.5),
    "linear": dict(lr_schedule="linear", lr_horizon=10, lr_final_factor=0.1),
    "cosine": dict(lr_schedule="cosine", lr_horizon=10, lr_final_factor=0.1),  # 15 steps: held after step 10
}
ENGINE_CASES = {
    "nonsaturating": make_method("nonsaturating", lr_d=3e-3, lr_g=1e-3),
    "wgan (RMSprop)": make_method("wgan", lr_d=1e-3, lr_g=1e-3),
    "sgd": make_method("nonsaturating", optimizer="sgd", lr_d=0.05, lr_g=0.05),
    "unrolled K=2": make_method("unrolled", unroll=2, lr_d=3e-3, lr_g=1e-3),
}


@pytest.mark.parametrize("case", list(ENGINE_CASES))
@pytest.mark.parametrize("sched", list(SCHEDULE_FIELDS))
def test_member_equals_the_reference_loop_with_torch_s_scheduler(case, sched):
    """Member 1 of a 3-seed run equals the reference loop (torch.optim + torch's StepLR, LinearLR,
    CosineAnnealingLR stepped once per training step; unrolled steps at the current rate) over 15
    steps, float64."""
    method = dataclasses.replace(ENGINE_CASES[case], **SCHEDULE_FIELDS[sched])
    t = Trainer(small(method), F64)
    assert_member_matches_reference(t, 15)


@pytest.mark.parametrize("name", ["nonsaturating", "wgan", "unrolled"])
def test_a_step_with_a_changing_rate_makes_no_host_copy(no_host_sync, name):
    """The factor is a Python float of the step count: a new rate every step reads nothing back."""
    t = Trainer(small(make_method(name, lr_schedule="cosine", lr_horizon=10)), F32)
    t.train_step()
    no_host_sync["on"] = True
    for _ in range(3):
        t.train_step()
    no_host_sync["on"] = False
    assert t.opt_d.factor == Cosine(horizon=10).factor(3) != 1.0


@pytest.mark.parametrize("sched", list(SCHEDULE_FIELDS))
def test_a_schedule_changes_the_weights(sched):
    base = small(make_method("nonsaturating", lr_d=3e-3, lr_g=3e-3), seeds=(3,))
    plain = trained(base, 8)
    scheduled = trained(dataclasses.replace(base, method=dataclasses.replace(base.method, **SCHEDULE_FIELDS[sched])), 8)
    for k in plain.params_d:
        assert not torch.equal(plain.params_d[k], scheduled.params_d[k]), k
    for k in plain.params_g:
        assert not torch.equal(plain.params_g[k], scheduled.params_g[k]), k


def test_a_drop_after_the_last_step_trains_the_bits_of_constant():
    """factor 1 is no factor: a step schedule whose first drop lies past the run equals constant."""
    base = small(make_method("nonsaturating"), seeds=(3, 4))
    plain = trained(base, 6)
    late = trained(dataclasses.replace(base, method=dataclasses.replace(base.method, lr_schedule="step",
                                                                          lr_step_size=6)), 6)
    for k in plain.params_g:
        assert torch.equal(plain.params_g[k], late.params_g[k])


@pytest.mark.parametrize("name,grid", [
    ("nonsaturating", {"lr_d": (1e-3, 3e-3)}),
    ("wgan", {"lr_g": (1e-4, 1e-3)}),
    ("unrolled", {"lr_d": (1e-3, 3e-3)}),
])
def test_grid_member_with_a_schedule_equals_its_solo_run(name, grid):
    """Bit for bit, every (grid point, seed) member with a schedule equals the ungridded run of
    that seed and those values with the same schedule."""
    method = make_method(name, lr_schedule="step", lr_step_size=3, lr_gamma=0.25)
    cfg = small(method, seeds=(3, 5), grid=grid)
    assert_members_equal_solo_runs(cfg, 7)


def test_a_member_with_a_schedule_is_bit_identical_for_any_n():
    """Adam on the whole stacked tensor (one rate) and member by member: the same bits."""
    base = small(make_method("nonsaturating", lr_schedule="cosine", lr_horizon=6, lr_final_factor=0.3), seeds=(5,))
    alone = trained(base, 8)
    together = trained(dataclasses.replace(base, seeds=(100, 101, 102, 5)), 8)
    for k in alone.params_d:
        assert torch.equal(together.params_d[k][-1], alone.params_d[k][0]), k


def test_checkpoint_across_a_drop_continues_bit_identically():
    """Saved at step 3, resumed in a fresh trainer, trained past the drops at 4 and 8: the
    uninterrupted run's bits (the factor follows the restored step)."""
    cfg = small(make_method("nonsaturating", lr_schedule="step", lr_step_size=4, lr_gamma=0.5), seeds=(3, 5))
    whole, first = trained(cfg, 3), trained(cfg, 3)
    resumed = restored(first, cfg, F32)
    for t in (whole, resumed):
        for _ in range(7):
            t.train_step()
    for k in whole.params_d:
        assert torch.equal(whole.params_d[k], resumed.params_d[k]), k
    for k in whole.params_g:
        assert torch.equal(whole.params_g[k], resumed.params_g[k]), k


# -- configuration -----------------------------------------------------------------------------------------
def test_every_schedule_parameter_is_a_method_field():
    fields = {f.name for f in dataclasses.fields(MethodConfig)}
    assert {"lr_" + p for p in PARAMETERS} <= fields
    late_lr = {f for f in MethodConfig.LATE_FIELDS if f.startswith("lr_")}  # (new parts' late fields besides)
    assert late_lr == {"lr_schedule", *("lr_" + p for p in PARAMETERS)}


def test_a_default_schedule_stays_out_of_the_identity_and_another_enters_it():
    cfg = small(make_method("nonsaturating"))
    assert not [k for k in cfg.identity()["method"] if k.startswith("lr_") and k not in ("lr_d", "lr_g")]
    sched = dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, lr_schedule="linear", lr_horizon=50))
    method = sched.identity()["method"]
    assert (method["lr_schedule"], method["lr_horizon"]) == ("linear", 50) and "lr_gamma" not in method
    assert sched.identity_sha256() != cfg.identity_sha256()
    back = TrainConfig.from_dict({**sched.identity(), "steps": 7})
    assert back.method == sched.method


@pytest.mark.parametrize("bad,match", [
    (dict(lr_schedule="warmup"), "unknown lr schedule 'warmup'"),
    (dict(lr_schedule="step"), r"step_size \(lr_step_size\) must be an integer >= 1, got None"),
    (dict(lr_schedule="step", lr_step_size=10, lr_gamma=0.0), r"gamma \(lr_gamma\) must be a positive finite number, got 0.0"),
    (dict(lr_schedule="cosine"), r"horizon \(lr_horizon\) must be an integer >= 1, got None"),
    (dict(lr_schedule="linear", lr_horizon=5, lr_final_factor=2.0), r"final_factor \(lr_final_factor\) must lie in \[0, 1\], got 2.0"),
    (dict(lr_schedule="cosine", lr_horizon=5, lr_gamma=0.5), "lr_gamma=0.5 does not apply to lr schedule 'cosine'"),
    (dict(lr_step_size=100), "lr_step_size=100 does not apply to lr schedule 'constant'"),
])
def test_bad_schedule_is_refused_with_its_value(bad, match):
    with pytest.raises(ValueError, match=match):
        MethodConfig(**bad)


def test_registry_builds_each_schedule_by_name():
    assert set(LR_SCHEDULES) == {"constant", "step", "linear", "cosine"}
    assert make_lr_schedule("step", step_size=2) == Step(step_size=2, gamma=0.1)
    with pytest.raises(ValueError, match="unknown lr schedule 'exp'"):
        make_lr_schedule("exp")


ARGS = ["train", "--target", "ring8", "--seeds", "2", "--batch", "32", "--eval-every", "10",
        "--eval-samples", "200", "--final-evaluators", "modes", "--no-progress", "--checkpoint-every", "10"]
COSINE = ["--lr-schedule", "cosine", "--lr-horizon", "30", "--lr-final-factor", "0.1"]


def _final(run) -> dict:
    return torch.load(sorted((run / "checkpoints").glob("step_*.pt"))[-1], weights_only=True)


def test_cli_schedule_is_recorded_and_an_extended_run_equals_the_longer_run(tmp_path):
    """--lr-schedule and its parameters go into config.json's identity; a 20-step run extended to
    40 (past the horizon of 30: held at the final rate) equals the 40-step run, bit for bit."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main([*ARGS, *COSINE, "--steps", "40", "--out", str(whole)]) == 0
    assert main([*ARGS, *COSINE, "--steps", "20", "--out", str(cut)]) == 0
    method = json.loads((cut / "config.json").read_text())["identity"]["method"]
    assert (method["lr_schedule"], method["lr_horizon"], method["lr_final_factor"]) == ("cosine", 30, 0.1)
    assert main(["train", "--resume", str(cut), "--steps", "40", "--no-progress"]) == 0
    a, b = _final(whole), _final(cut)
    assert a["step"] == b["step"] == 40
    for part in ("params_g", "params_d"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), (part, k)
    assert (whole / "metrics.jsonl").read_text() == (cut / "metrics.jsonl").read_text()


def test_cli_refuses_a_schedule_without_its_horizon(tmp_path, capsys):
    assert main([*ARGS, "--lr-schedule", "linear", "--steps", "5", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lr_horizon" in err and "got None" in err
    assert not (tmp_path / "r").exists()


def test_a_sweep_variant_sets_a_schedule():
    from ganlab.sweep.spec import SweepSpec

    text = """
[sweep]
name = "s"
description = "schedules in a sweep"
targets = ["ring8"]
seeds = 1
steps = 2

[[methods]]
label = "constant"

[[methods]]
label = "step"
lr_schedule = "step"
lr_step_size = 1000
lr_gamma = 0.5
"""
    plain, stepped = (c.config for c in SweepSpec.from_text(text).cells())
    assert plain.method.lr_schedule == "constant"
    assert (stepped.method.lr_schedule, stepped.method.lr_step_size, stepped.method.lr_gamma) == ("step", 1000, 0.5)
