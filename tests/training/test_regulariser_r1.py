"""The R1 penalty (Mescheder et al. 2018, eq. 9), (γ/2) E_{x ~ p_data} ‖∇_x D(x)‖²: against hand
values, against the formula written out with its analytic input gradient (value and autograd
gradients in D's parameters), in the engine against the independent reference loop, and through
the front door (flag, grid, sweep, label, identity, refusals)."""


import pytest
import torch

from ganlab.cli import _parser, build_config
from ganlab.models.mlp import MLPSpec
from ganlab.sweep.spec import SweepSpec
from ganlab.training.config import TrainConfig, method_to_dict
from ganlab.training.engine import Trainer
from ganlab.training.methods import make_method
from ganlab.training.regularisers import REGULARISERS
from ganlab.training.regularisers.r1 import r1_penalty, squared_gradient_norm
from helpers import F64, assert_member_matches_reference, assert_train_refused, assert_members_equal_solo_runs, small

D64 = torch.float64


# -- the formula -----------------------------------------------------------------------------------------
def test_a_linear_critic_pays_gamma_half_its_weight_norm_squared():
    """D(x) = w·x has ∇_x D = w everywhere: (γ/2)‖w‖², whatever the samples; γ per member."""
    w = torch.tensor([[3.0, 4.0], [0.6, 0.8]], dtype=D64)
    critic = lambda x: (x * w[:, None, :]).sum(-1, keepdim=True)  # noqa: E731
    x = torch.randn(2, 5, 2, dtype=D64)
    assert r1_penalty(critic, x, 2.0).tolist() == pytest.approx([25.0, 1.0], abs=1e-12)
    assert r1_penalty(critic, x, torch.tensor([2.0, 10.0], dtype=D64)).tolist() == pytest.approx([25.0, 5.0], abs=1e-12)


def test_a_quadratic_critic_at_hand_points():
    """D(x) = ½‖x‖² has ∇_x D = x: member 0 at (1, 2), (3, 0) pays (γ/2)(5 + 9)/2 = 3.5 γ; member 1 at
    (0, 0), (1, 1) pays (γ/2)(0 + 2)/2 = 0.5 γ; the norm runs over every non-batch dimension."""
    critic = lambda x: 0.5 * (x * x).flatten(2).sum(-1, keepdim=True)  # noqa: E731
    x = torch.tensor([[[1.0, 2.0], [3.0, 0.0]], [[0.0, 0.0], [1.0, 1.0]]], dtype=D64)
    assert r1_penalty(critic, x, 1.0).tolist() == pytest.approx([3.5, 0.5], abs=1e-12)
    assert squared_gradient_norm(critic, x.reshape(2, 2, 1, 2)).tolist() == pytest.approx([7.0, 1.0], abs=1e-12)


def test_r1_and_its_parameter_gradients_equal_the_written_out_formula():
    """D(x) = v·tanh(W x + b) has ∇_x D = Wᵀ(v ⊙ (1 − tanh²(W x + b))): the penalty written with that
    analytic gradient equals ganlab's, and so do their autograd gradients in (W, b, v) — the
    penalty's own gradient is what trains D."""
    g = torch.Generator().manual_seed(0)
    W, b, v = (torch.randn(*s, generator=g, dtype=D64, requires_grad=True) for s in ((5, 3), (5,), (5,)))
    x = torch.randn(1, 7, 3, generator=g, dtype=D64)
    gamma = 3.0
    critic = lambda y: (torch.tanh(y @ W.T + b) * v).sum(-1, keepdim=True)  # noqa: E731
    ours = r1_penalty(critic, x, gamma)[0]
    sech2 = 1 - torch.tanh(x[0] @ W.T + b) ** 2  # [B, 5]
    grad_x = (v * sech2) @ W  # [B, 3]
    hand = gamma / 2 * (grad_x**2).sum(dim=1).mean()
    assert ours.item() == pytest.approx(hand.item(), rel=1e-13)
    for a, h in zip(torch.autograd.grad(ours, (W, b, v)), torch.autograd.grad(hand, (W, b, v))):
        assert torch.allclose(a, h, rtol=1e-12, atol=1e-14)


def test_the_engine_penalises_the_real_batch_with_half_gamma():
    """The engine's term is (γ/2) E‖∇D‖² of the trainer's own D on the real batch — not the fake one."""
    t = Trainer(small(make_method("nonsaturating", r1_gamma=4.0), seeds=(1, 2)), F64)
    real, fake = t.pack(t.real(0, 0)), t.pack(t.fake(0, 0))
    critic = lambda x: t.discriminate_packs(t.params_d, x)  # noqa: E731
    term = REGULARISERS["r1"].penalty(t, t.params_d, real, fake, 0, 0)
    assert torch.allclose(term, 2.0 * squared_gradient_norm(critic, real), rtol=1e-13, atol=0)
    assert not torch.allclose(term, 2.0 * squared_gradient_norm(critic, fake), rtol=1e-3, atol=0)


# -- in the engine ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", [
    make_method("nonsaturating", r1_gamma=1.0),
    make_method("packed", r1_gamma=10.0),
    make_method("wgan-gp", gp_lambda=0.0, r1_gamma=0.5, d_steps=2),  # an R1 critic, Wasserstein loss
    make_method("unrolled", unroll=2, r1_gamma=1.0),  # the unrolled D steps include the penalty
], ids=["nonsaturating", "packed m=2", "wasserstein", "unrolled K=2"])
def test_member_equals_the_reference_loop(method):
    """Member 1 of a 3-seed run equals the plain loop (its own R1, written out on nn.Sequential)."""
    t = Trainer(small(method), F64)
    assert_member_matches_reference(t, 8)


def test_grid_member_equals_its_solo_run():
    """γ = 0 included: a member of an r1_gamma grid is bit-identical to its own ungridded run (at γ = 0,
    one without the penalty at all)."""
    cfg = small(make_method("nonsaturating"), seeds=(3, 5), grid={"r1_gamma": (0.0, 10.0)})
    assert_members_equal_solo_runs(cfg, 6)


# -- the front door --------------------------------------------------------------------------------------
def _config(*argv):
    return build_config(_parser().parse_args(["train", *argv, "--out", "x"]))


def test_flag_grid_and_label():
    assert _config("--r1-gamma", "10").label == "nonsaturating + R1 γ=10"
    cfg = _config("--grid", "r1_gamma=0,1,10", "--seeds", "2")
    assert cfg.label == "nonsaturating + R1" and cfg.n_members == 6 and cfg.grid == {"r1_gamma": (0.0, 1.0, 10.0)}
    assert _config("--method", "wgan", "--r1-gamma", "1").label == "wgan + R1 γ=1"
    assert _config("--method", "unrolled", "--r1-gamma", "0.5").label == "unrolled K=5 (nonsaturating + R1 γ=0.5)"


def test_a_sweep_grids_r1_gamma():
    spec = SweepSpec.from_text("""
[sweep]
name = "r1"
targets = ["ring8"]
seeds = 2
steps = 10

[[methods]]
method = "nonsaturating"
grid = { r1_gamma = [0, 1, 10] }
""")
    (cell,) = spec.cells()
    assert cell.config.grid == {"r1_gamma": (0.0, 1.0, 10.0)} and cell.label == "nonsaturating + R1"


def test_identity_keeps_old_runs_and_says_gamma():
    assert "r1_gamma" not in method_to_dict(make_method("nonsaturating"))  # runs saved before R1 keep their hash
    assert method_to_dict(make_method("nonsaturating", r1_gamma=2.0))["r1_gamma"] == 2.0


@pytest.mark.parametrize("argv,match", [
    (["--r1-gamma", "-1"], "r1_gamma must be a non-negative finite number, got -1.0"),
    (["--r1-gamma", "nan"], "r1_gamma must be a non-negative finite number, got nan"),
])
def test_bad_input_is_one_line_before_any_work(tmp_path, capsys, argv, match):
    assert_train_refused(argv, match, tmp_path, capsys)


def test_batch_norm_critic_refused_also_when_gridded():
    with pytest.raises(ValueError, match="the R1 penalty is per sample"):
        TrainConfig(method=make_method("nonsaturating"), discriminator=MLPSpec(batch_norm=True),
                    grid={"r1_gamma": (0.0, 1.0)})
