"""The least-squares GAN loss (Mao et al. 2017): D minimises ½ E (D(x) − b)² + ½ E (D(G(z)) − a)², G
minimises ½ E (D(G(z)) − c)². Against hand values, autograd of the formula written out, its
optimal discriminator D* = (b p_data + a p_g)/(p_data + p_g), the reference loop, and the front door."""

import math

import pytest
import torch

from ganlab.cli import _parser, build_config
from ganlab.sweep.spec import SweepSpec
from ganlab.training.config import method_to_dict
from ganlab.training.engine import Trainer
from ganlab.training.losses import LOSSES
from ganlab.training.losses.least_squares import (
    discriminator_loss_least_squares,
    generator_loss_least_squares,
    optimal_discriminator,
)
from ganlab.training.methods import MethodConfig, make_method
from helpers import F64, assert_member_matches_reference, assert_train_refused, small

LS = dict(loss="least_squares", generator_loss="least_squares")
D64 = torch.float64


def scores(*rows):
    return torch.tensor(rows, dtype=D64)[..., None]


def test_hand_values():
    """real (1.5, 0, 1), fake (0.5, −1, 0). Codes a, b, c = 0, 1, 1: D's loss ½·(0.25 + 1 + 0)/3 +
    ½·(0.25 + 1 + 0)/3 = 1.25/3, G's ½·(0.25 + 4 + 1)/3 = 0.875. Codes −1, 1, 0: D's ½·1.25/3 +
    ½·(2.25 + 0 + 1)/3 = 0.75, G's ½·1.25/3."""
    real, fake = scores([1.5, 0.0, 1.0]), scores([0.5, -1.0, 0.0])
    assert discriminator_loss_least_squares(real, fake, 0.0, 1.0).item() == pytest.approx(1.25 / 3, abs=1e-15)
    assert generator_loss_least_squares(fake, 1.0).item() == pytest.approx(0.875, abs=1e-15)
    m = MethodConfig(**LS, lsgan_a=-1.0, lsgan_b=1.0, lsgan_c=0.0)
    assert LOSSES["least_squares"].discriminator(real, fake, m).item() == pytest.approx(0.75, abs=1e-15)
    assert LOSSES["least_squares"].generator("least_squares", fake, m).item() == pytest.approx(1.25 / 6, abs=1e-15)


@pytest.mark.parametrize("a,b,c", [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0), (0.3, -2.0, 5.0)])
def test_per_member_values_and_gradients_equal_the_written_formula(a, b, c):
    g = torch.Generator().manual_seed(2)
    real = torch.randn(3, 5, 1, generator=g, dtype=D64).requires_grad_(True)
    fake = torch.randn(3, 5, 1, generator=g, dtype=D64).requires_grad_(True)
    m = MethodConfig(**LS, lsgan_a=a, lsgan_b=b, lsgan_c=c)
    ours_d = LOSSES["least_squares"].discriminator(real, fake, m)
    ours_g = LOSSES["least_squares"].generator("least_squares", fake, m)
    hand_d = torch.stack([sum((real[i, j, 0] - b) ** 2 for j in range(5)) / 10
                          + sum((fake[i, j, 0] - a) ** 2 for j in range(5)) / 10 for i in range(3)])
    hand_g = torch.stack([sum((fake[i, j, 0] - c) ** 2 for j in range(5)) / 10 for i in range(3)])
    assert torch.allclose(ours_d, hand_d, rtol=1e-14, atol=0) and torch.allclose(ours_g, hand_g, rtol=1e-14, atol=0)
    for ours, hand in ((ours_d, hand_d), (ours_g, hand_g)):
        for x, y in zip(torch.autograd.grad(ours.sum(), (real, fake), retain_graph=True, materialize_grads=True),
                        torch.autograd.grad(hand.sum(), (real, fake), materialize_grads=True)):
            assert torch.allclose(x, y, rtol=1e-14, atol=1e-16)
    # d/dD(x) = (D(x) − b)/B, d/dD(G(z)) = (D(G(z)) − a)/B, by hand
    gr, gf = torch.autograd.grad(ours_d.sum(), (real, fake))
    assert torch.allclose(gr, (real - b) / 5, rtol=1e-14) and torch.allclose(gf, (fake - a) / 5, rtol=1e-14)


@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-1.0, 1.0), (2.0, -0.5)])
def test_the_optimal_discriminator_minimises_the_loss_pointwise(a, b):
    """At densities p, q, D* = (b p + a q)/(p + q) by hand; the loss's gradient weighted by the
    densities, p ∂L/∂D(x) + q ∂L/∂D(G(z)) at D(x) = D(G(z)) = D*, is 0 (and the loss is convex)."""
    p = torch.tensor([0.2, 1.0, 3.0, 1e-3], dtype=D64)
    q = torch.tensor([0.7, 1.0, 0.1, 2.0], dtype=D64)
    hand = (b * p + a * q) / (p + q)
    d_star = optimal_discriminator(p.log(), q.log(), a, b)
    assert torch.allclose(d_star, hand, rtol=1e-14, atol=1e-15)
    y = d_star[None, :, None].clone().requires_grad_(True)
    y2 = d_star[None, :, None].clone().requires_grad_(True)
    loss = LOSSES["least_squares"].discriminator(y, y2, MethodConfig(**LS, lsgan_a=a, lsgan_b=b))
    gr, gf = torch.autograd.grad(loss.sum(), (y, y2))
    assert (p * gr[0, :, 0] + q * gf[0, :, 0]).abs().max().item() < 1e-15
    assert optimal_discriminator(torch.tensor([-900.0]), torch.tensor([-1.0]), a, b).item() == a  # p_data underflows


@pytest.mark.parametrize("method", [
    make_method("nonsaturating", **LS),
    make_method("packed", **LS, lsgan_a=-1.0, lsgan_c=0.0),
    make_method("nonsaturating", **LS, schedule="simultaneous", d_steps=2, r2_gamma=1.0),
], ids=["0-1 codes", "packed, codes -1 1 0", "simultaneous k=2 + R2"])
def test_member_equals_the_reference_loop(method):
    t = Trainer(small(method), F64)
    assert_member_matches_reference(t, 8)


def _config(*argv):
    return build_config(_parser().parse_args(["train", *argv, "--out", "x"]))


def test_flags_label_sweep_and_identity():
    flags = ("--loss", "least_squares", "--generator-loss", "least_squares")
    assert _config(*flags).label == "lsgan"
    cfg = _config(*flags, "--lsgan-a", "-1", "--lsgan-c", "0")
    assert cfg.label == "lsgan a=-1 b=1 c=0"
    assert (cfg.method.lsgan_a, cfg.method.lsgan_b, cfg.method.lsgan_c) == (-1, 1, 0)
    saved = method_to_dict(MethodConfig())
    assert not {"lsgan_a", "lsgan_b", "lsgan_c"} & set(saved)  # runs saved before LSGAN keep their hash
    assert method_to_dict(cfg.method)["lsgan_a"] == -1.0 and "lsgan_b" not in method_to_dict(cfg.method)
    spec = SweepSpec.from_text("""
[sweep]
name = "ls"
targets = ["ring8"]
seeds = 1
steps = 10

[[methods]]
method = "nonsaturating"
loss = "least_squares"
generator_loss = "least_squares"
lsgan_a = -1
lsgan_c = 0
""")
    assert spec.cells()[0].label == "lsgan a=-1 b=1 c=0"


@pytest.mark.parametrize("argv,match", [
    (["--loss", "least_squares"], "generator loss 'nonsaturating' does not pair with loss 'least_squares'"),
    (["--loss", "least_squares", "--generator-loss", "least_squares", "--lsgan-a", "1"],
     "lsgan_a = lsgan_b = 1: D's targets for generated and real samples must differ"),
    (["--loss", "least_squares", "--generator-loss", "least_squares", "--lsgan-b", "nan"],
     "lsgan_b must be a finite number, got nan"),
])
def test_bad_input_is_one_line_before_any_work(tmp_path, capsys, argv, match):
    assert_train_refused(argv, match, tmp_path, capsys)


def test_codes_are_checked_even_when_another_loss_is_used():
    with pytest.raises(ValueError, match="lsgan_c must be a finite number, got inf"):
        MethodConfig(lsgan_c=math.inf)
