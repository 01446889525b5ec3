"""benchmarks/budget_curves.py's verdicts: a curve that reaches the published value, one still
rising toward it (and the budget its trend line needs, against the closed form), one flat short of
it and one moving away are each called what they are."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import budget_curves as bc  # noqa: E402

EPOCHS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 40]


def _curve(f, spread=(-0.01, 0.0, 0.01), key="modes_captured", label="GAN (m=1)", target="grid25") -> bc.Curve:
    """A cell whose three seeds sit at f(epochs) + spread."""
    values = {k: [[0.0] * 3 for _ in EPOCHS] for k in bc.METRICS}
    values[key] = [[f(e) + d for d in spread] for e in EPOCHS]
    return bc.Curve(target, label, ["lin2018:GAN"], 3, list(EPOCHS), values, [0.1] * len(EPOCHS), 60.0, 1000)


def test_the_trend_is_the_least_squares_slope_per_decade():
    """Against numpy's polyfit on the last decade's points (its covariance is the usual OLS one)."""
    values = [[3 + 2 * math.log10(e) + d * e / 40 for d in (-0.1, 0.1)] for e in EPOCHS]
    slope, se, used = bc.trend(EPOCHS, values)
    assert used == 5  # 5, 10, 20, 30, 40 are within a decade of 40
    x = np.array([math.log10(e) for e in EPOCHS[4:] for _ in range(2)])
    (b, _), cov = np.polyfit(x, np.concatenate(values[4:]), 1, cov=True)
    assert slope == pytest.approx(b, rel=1e-10) and se == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-10)


def test_a_curve_rising_toward_the_published_value_and_the_budget_it_needs():
    """Modes rise by 2 per decade and sit at 12 at 40 epochs: GAN's published 17.3 is reached where
    12 + 2·log10(E/40) = 17.3, E = 40·10^2.65 epochs, by the trend through the last decade."""
    c = _curve(lambda e: 12 + 2 * math.log10(e / 40))
    v = bc.verdict(c, "modes_captured")
    assert v["verdict"] == "rising"
    assert v["needs_epochs"] == pytest.approx(40 * 10 ** ((17.3 - 12) / 2), rel=1e-9)
    assert "still moving toward it" in v["text"]


def test_a_curve_within_the_error_bars_reaches_it():
    v = bc.verdict(_curve(lambda e: 17.0 + 0 * e, spread=(-0.5, 0.0, 0.5)), "modes_captured")
    assert v["verdict"] == "reaches"  # |17.0 − 17.3| = 0.3 < 2·√(0.29² + 0.8²)


def test_a_flat_curve_short_of_it_is_flat_and_one_going_the_other_way_moves_away():
    assert bc.verdict(_curve(lambda e: 10.0 + 0 * e, spread=(-1, 0, 1)), "modes_captured")["verdict"] == "flat"
    assert bc.verdict(_curve(lambda e: 10 - math.log10(e)), "modes_captured")["verdict"] == "moving away"
    # for reverse KL lower is better: a falling curve above their 0.70 is moving toward it
    rkl = _curve(lambda e: 1.5 - 0.2 * math.log10(e), key="reverse_kl")
    assert bc.verdict(rkl, "reverse_kl")["verdict"] == "rising"


def test_the_figure_and_table_of_synthetic_curves(tmp_path):
    curves = [_curve(lambda e: 12 + 2 * math.log10(e / 40)),
              _curve(lambda e: 20 + math.log10(e), label="PacGAN4")]
    title = bc.figure(curves, "grid25", tmp_path / "f.png")
    assert "Ours: to 40 epochs = 10 % of the published budget" in title and "400 epochs, 10 trials" in title
    assert (tmp_path / "f.png").stat().st_size > 20_000
    md, rows = bc.table(curves)
    assert md.count("\n") == 1 + 3 * 2 and "40 of 400 epochs (10 %)" in md
    assert {r["method"] for r in rows} == {"GAN (m=1)", "PacGAN4"}


def test_the_compact_table_names_each_verdict_and_the_budget_the_trend_needs():
    """GAN modes rising 2 per decade to 12 at 40 epochs: 17.3 at 40·10^2.65 ≈ 17,864 epochs (> 10 ×
    the full budget); the other metrics are flat zeros against PacGAN's values."""
    line = bc.compact([_curve(lambda e: 12 + 2 * math.log10(e / 40))]).splitlines()[2]
    assert line.startswith("| grid25, GAN (m=1) | 40 of 400 epochs | 12 (17.3) rising |")
    assert line.endswith("| modes > 4,000 |")
    near = bc.compact([_curve(lambda e: 14 + 2 * math.log10(e / 40))]).splitlines()[2]
    assert near.endswith(f"| modes {40 * 10 ** 1.65:,.0f} |")  # 14 + 2·log10(E/40) = 17.3: E ≈ 1,787
