"""The LSGAN optimal-discriminator rows of ``ganlab verify`` pass, and fail when the formula they
check is wrong: a and b swapped in D*, the GAN's D* in its place, or the loss's codes swapped."""

import pytest
import torch

from ganlab.training.losses import least_squares
from ganlab.verify import format_table, run_claims

CLAIM = ["lsgan_optimal_discriminator"]


def test_the_rows_pass():
    rows = run_claims(names=CLAIM)
    assert len(rows) == 4 and all(r.passed for r in rows), format_table(rows)


@pytest.mark.parametrize("planted", [
    lambda lp, lq, a, b: b + (a - b) * torch.sigmoid(lp - lq),  # a and b swapped
    lambda lp, lq, a, b: torch.sigmoid(lp - lq),  # the GAN's D* = p_data/(p_data + p_g)
])
def test_a_wrong_optimal_discriminator_fails_its_rows(monkeypatch, planted):
    monkeypatch.setattr(least_squares, "optimal_discriminator", planted)
    rows = run_claims(names=CLAIM)
    assert not all(r.passed for r in rows), format_table(rows)
    assert not any(r.passed for r in rows if r.claim.startswith("LSGAN D*") and "a = -1" in r.claim)


def test_a_loss_with_its_codes_swapped_fails_the_stationarity_rows(monkeypatch):
    right = least_squares.discriminator_loss_least_squares
    monkeypatch.setattr(least_squares, "discriminator_loss_least_squares", lambda r, f, a, b: right(r, f, b, a))
    rows = [r for r in run_claims(names=CLAIM) if r.claim.startswith("p_data dL/dD")]
    assert len(rows) == 2 and not any(r.passed for r in rows), format_table(rows)
