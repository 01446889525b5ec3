"""The hinge loss (Lim & Ye 2017; Miyato et al. 2018): D minimises E max(0, 1 − D(x)) +
E max(0, 1 + D(G(z))), G minimises −E D(G(z)). Against hand values, autograd of the formula
written out with torch.where, the reference loop, and the front door."""

import pytest
import torch

from ganlab.cli import _parser, build_config
from ganlab.sweep.spec import SweepSpec
from ganlab.training.config import method_to_dict
from ganlab.training.engine import Trainer
from ganlab.training.losses import LOSSES
from ganlab.training.losses.hinge import discriminator_loss_hinge, generator_loss_hinge
from ganlab.training.methods import MethodConfig, make_method
from helpers import F64, assert_member_matches_reference, assert_train_refused, small

HINGE = dict(loss="hinge", generator_loss="hinge")


def scores(*rows):
    """[N, B, 1] float64 scores, one row per member."""
    return torch.tensor(rows, dtype=torch.float64)[..., None]


def test_hand_values():
    """real (2, 0.5, −1): max(0, 1 − x) = (0, 0.5, 2), mean 5/6; fake (−2, 0, 0.5): max(0, 1 + x) =
    (0, 1, 1.5), mean 5/6; D's loss 5/3, G's −(−1.5)/3 = 0.5. Member 1 sits outside both margins:
    real (1, 3), fake (−1, −4): D's loss 0, G's 2.5."""
    real, fake = scores([2.0, 0.5, -1.0], [1.0, 3.0, 1.0]), scores([-2.0, 0.0, 0.5], [-1.0, -4.0, -2.5])
    assert discriminator_loss_hinge(real, fake).tolist() == pytest.approx([5 / 3, 0.0], abs=1e-15)
    assert generator_loss_hinge(fake).tolist() == pytest.approx([0.5, 2.5], abs=1e-15)
    assert LOSSES["hinge"].discriminator(real, fake, MethodConfig(**HINGE)).tolist() == pytest.approx([5 / 3, 0.0])


def test_gradients_equal_autograd_of_the_written_formula():
    g = torch.Generator().manual_seed(0)
    real = (2 * torch.randn(3, 6, 1, generator=g, dtype=torch.float64)).requires_grad_(True)
    fake = (2 * torch.randn(3, 6, 1, generator=g, dtype=torch.float64)).requires_grad_(True)
    ours_d, ours_g = discriminator_loss_hinge(real, fake), generator_loss_hinge(fake)
    zero = torch.zeros((), dtype=torch.float64)
    hand_d = (torch.where(real < 1, 1 - real, zero).mean(dim=(1, 2))
              + torch.where(fake > -1, 1 + fake, zero).mean(dim=(1, 2)))
    hand_g = -fake.mean(dim=(1, 2))
    assert torch.allclose(ours_d, hand_d, rtol=1e-15, atol=1e-15) and torch.allclose(ours_g, hand_g, rtol=1e-15)
    for ours, hand in ((ours_d, hand_d), (ours_g, hand_g)):
        for a, h in zip(torch.autograd.grad(ours.sum(), (real, fake), retain_graph=True, materialize_grads=True),
                        torch.autograd.grad(hand.sum(), (real, fake), materialize_grads=True)):
            assert torch.allclose(a, h, rtol=1e-15, atol=1e-15)
    # the margins, by hand: d/dD(x) = −1/B inside the real margin, d/dD(G(z)) = 1/B inside the fake one
    (gr, gf) = torch.autograd.grad(ours_d.sum(), (real, fake))
    sixth = torch.tensor(1 / 6, dtype=torch.float64)
    assert torch.equal(gr, torch.where(real < 1, -sixth, zero)) and torch.equal(gf, torch.where(fake > -1, sixth, zero))


@pytest.mark.parametrize("method", [
    make_method("nonsaturating", **HINGE),
    make_method("packed", **HINGE, d_steps=2),
    make_method("nonsaturating", **HINGE, schedule="simultaneous", r1_gamma=1.0),
], ids=["alternating", "packed m=2, k=2", "simultaneous + R1"])
def test_member_equals_the_reference_loop(method):
    t = Trainer(small(method), F64)
    assert_member_matches_reference(t, 8)


def _config(*argv):
    return build_config(_parser().parse_args(["train", *argv, "--out", "x"]))


def test_flags_label_sweep_and_identity():
    cfg = _config("--loss", "hinge", "--generator-loss", "hinge")
    assert cfg.label == "hinge" and cfg.method.loss == "hinge"
    assert _config("--method", "packed", "--loss", "hinge", "--generator-loss", "hinge", "--r1-gamma", "1").label \
        == "packed m=2 (hinge + R1 γ=1)"
    assert method_to_dict(cfg.method)["loss"] == "hinge"
    spec = SweepSpec.from_text("""
[sweep]
name = "hinge"
targets = ["ring8"]
seeds = 1
steps = 10

[[methods]]
method = "nonsaturating"
loss = "hinge"
generator_loss = "hinge"
grid = { lr_d = [1e-4, 1e-3] }
""")
    assert spec.cells()[0].label == "hinge"


@pytest.mark.parametrize("argv,match", [
    (["--loss", "hinge"], "generator loss 'nonsaturating' does not pair with loss 'hinge'; it takes 'hinge'"),
    (["--generator-loss", "hinge"], "generator loss 'hinge' does not pair with loss 'gan'"),
    (["--method", "unrolled", "--loss", "hinge", "--generator-loss", "hinge"],
     "the unrolled schedule is defined for the GAN loss, not loss 'hinge'"),
])
def test_bad_pairings_are_one_line_before_any_work(tmp_path, capsys, argv, match):
    assert_train_refused(argv, match, tmp_path, capsys)
