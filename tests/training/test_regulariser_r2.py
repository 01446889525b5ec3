"""The R2 penalty (Mescheder et al. 2018, eq. 10), (γ/2) E_{x ~ p_g} ‖∇_x D(x)‖² — R1's on generated
samples: against hand values, against the formula written out with its analytic input gradient,
in the engine against the independent reference loop (alone and with R1), and through the front
door (flag, grid, sweep, label, identity, refusals)."""


import pytest
import torch

from ganlab.cli import _parser, build_config
from ganlab.models.mlp import MLPSpec
from ganlab.sweep.spec import SweepSpec
from ganlab.training.config import TrainConfig, method_to_dict
from ganlab.training.engine import Trainer
from ganlab.training.methods import make_method
from ganlab.training.regularisers import REGULARISERS
from ganlab.training.regularisers.r2 import r2_penalty
from helpers import F64, assert_member_matches_reference, assert_train_refused, assert_members_equal_solo_runs, small

D64 = torch.float64


# -- the formula -----------------------------------------------------------------------------------------
def test_hand_values():
    """D(x) = w·x: (γ/2)‖w‖² (w = (1, 2, 2): 4.5 γ); D(x) = x₁ x₂: ∇ = (x₂, x₁), so at (1, 2), (2, 2),
    (0, 3): (γ/2)(5 + 8 + 9)/3 = 11γ/3."""
    w = torch.tensor([1.0, 2.0, 2.0], dtype=D64)
    linear = lambda x: (x * w).sum(-1, keepdim=True)  # noqa: E731
    assert r2_penalty(linear, torch.randn(2, 4, 3, dtype=D64), 2.0).tolist() == pytest.approx([9.0, 9.0], abs=1e-12)
    product = lambda x: x[..., :1] * x[..., 1:]  # noqa: E731
    x = torch.tensor([[[1.0, 2.0], [2.0, 2.0], [0.0, 3.0]]], dtype=D64)
    assert r2_penalty(product, x, 3.0).tolist() == pytest.approx([11.0], abs=1e-12)
    assert r2_penalty(product, x, torch.tensor([0.0], dtype=D64)).tolist() == [0.0]


def test_r2_and_its_parameter_gradients_equal_the_written_out_formula():
    """D(x) = v·softplus(W x + b) has ∇_x D = Wᵀ(v ⊙ σ(W x + b)): value and autograd gradients in (W, b, v)."""
    g = torch.Generator().manual_seed(1)
    W, b, v = (torch.randn(*s, generator=g, dtype=D64, requires_grad=True) for s in ((4, 2), (4,), (4,)))
    x = torch.randn(1, 9, 2, generator=g, dtype=D64)
    critic = lambda y: (torch.nn.functional.softplus(y @ W.T + b) * v).sum(-1, keepdim=True)  # noqa: E731
    ours = r2_penalty(critic, x, 0.7)[0]
    grad_x = (v * torch.sigmoid(x[0] @ W.T + b)) @ W
    hand = 0.7 / 2 * (grad_x**2).sum(dim=1).mean()
    assert ours.item() == pytest.approx(hand.item(), rel=1e-13)
    for a, h in zip(torch.autograd.grad(ours, (W, b, v)), torch.autograd.grad(hand, (W, b, v))):
        assert torch.allclose(a, h, rtol=1e-12, atol=1e-14)


def test_the_engine_penalises_the_generated_batch_not_the_real_one():
    t = Trainer(small(make_method("nonsaturating", r2_gamma=4.0), seeds=(1, 2)), F64)
    real, fake = t.pack(t.real(0, 0)), t.pack(t.fake(0, 0))
    critic = lambda x: t.discriminate_packs(t.params_d, x)  # noqa: E731
    term = REGULARISERS["r2"].penalty(t, t.params_d, real, fake, 0, 0)
    assert torch.allclose(term, r2_penalty(critic, fake, 4.0), rtol=1e-13, atol=0)
    assert not torch.allclose(term, r2_penalty(critic, real, 4.0), rtol=1e-3, atol=0)


# -- in the engine ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", [
    make_method("nonsaturating", r2_gamma=1.0),
    make_method("vanilla", r2_gamma=3.0, schedule="simultaneous", d_steps=2),
    make_method("nonsaturating", r1_gamma=2.0, r2_gamma=0.5),
    make_method("unrolled", unroll=2, r2_gamma=1.0),
], ids=["nonsaturating", "simultaneous k=2", "with R1", "unrolled K=2"])
def test_member_equals_the_reference_loop(method):
    t = Trainer(small(method), F64)
    assert_member_matches_reference(t, 8)


def test_grid_member_equals_its_solo_run():
    cfg = small(make_method("nonsaturating"), seeds=(3, 5), grid={"r2_gamma": (0.0, 10.0)})
    assert_members_equal_solo_runs(cfg, 6)


# -- the front door --------------------------------------------------------------------------------------
def _config(*argv):
    return build_config(_parser().parse_args(["train", *argv, "--out", "x"]))


def test_flag_grid_and_label():
    assert _config("--r2-gamma", "10").label == "nonsaturating + R2 γ=10"
    assert _config("--r1-gamma", "1", "--r2-gamma", "2").label == "nonsaturating + R1 γ=1 + R2 γ=2"
    cfg = _config("--grid", "r2_gamma=0,1", "--seeds", "3")
    assert cfg.label == "nonsaturating + R2" and cfg.n_members == 6


def test_a_sweep_grids_r2_gamma():
    spec = SweepSpec.from_text("""
[sweep]
name = "r2"
targets = ["ring8"]
seeds = 1
steps = 10

[[methods]]
method = "vanilla"
grid = { r2_gamma = [0.1, 1] }
""")
    (cell,) = spec.cells()
    assert cell.config.grid == {"r2_gamma": (0.1, 1.0)} and cell.label == "vanilla + R2"


def test_identity_keeps_old_runs_and_says_gamma():
    assert "r2_gamma" not in method_to_dict(make_method("nonsaturating"))
    assert method_to_dict(make_method("nonsaturating", r2_gamma=0.5))["r2_gamma"] == 0.5


def test_bad_input_is_one_line_before_any_work(tmp_path, capsys):
    assert_train_refused(["--r2-gamma", "-0.5"], "r2_gamma must be a non-negative finite number, got -0.5", tmp_path,
                         capsys)
    with pytest.raises(ValueError, match="the R2 penalty is per sample"):
        TrainConfig(method=make_method("nonsaturating", r2_gamma=1.0), discriminator=MLPSpec(batch_norm=True))
