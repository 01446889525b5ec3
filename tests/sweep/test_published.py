"""Published results as data, checked against the issue's text, and the rule that flags ours."""

import re

import pytest
import torch

from ganlab.sweep.published import PUBLISHED, PUBLISHED_KEYS, Value, caveats, compare, published_for

# issue 9, verbatim: the numbers are parsed from this text and must equal the data module's
ISSUE = """
- PacGAN (Lin et al. 2018) Table 1, 10 trials, 2,500 samples, modes / high-quality % / reverse KL: ring GAN 6.3±0.5 / 98.2±0.2 / 0.45±0.09; PacGAN2 7.9±0.1 / 95.6±2.0 / 0.07±0.03; PacGAN3 7.8±0.1 / 97.7±0.3 / 0.10±0.02; PacGAN4 7.8±0.1 / 95.9±1.4 / 0.07±0.02. Grid GAN 17.3±0.8 / 94.8±0.7 / 0.70±0.07; PacGAN2 23.8±0.7 / 91.3±0.8 / 0.13±0.04; PacGAN3 24.6±0.4 / 94.2±0.4 / 0.06±0.02; PacGAN4 24.8±0.2 / 93.6±0.6 / 0.04±0.01.
- VEEGAN (Srivastava et al. 2017) Table 1, the unrolled-GAN notebook's setting, 2,500 samples: ring GAN 1 / 99.3 %, Unrolled GAN 7.6 / 35.6 %; grid GAN 3.3 / 0.5 %, Unrolled GAN 23.6 / 16 %.
- GDPP (Elfeki et al. 2019) Table 1, the VEEGAN setting: WGAN-GP ring 6.8 / 59.6 %, grid 24.2 / 28.7 %.
"""
NUM = r"(\d+(?:\.\d+)?)"


def _issue_rows() -> dict[tuple[str, str], list[tuple[float, float | None]]]:
    rows = {}
    pac, vee, gdpp = [ln for ln in ISSUE.strip().splitlines()]
    ring, grid = pac.split("ring ", 1)[1].split("Grid ")
    for target, part in (("ring8", ring), ("grid25", grid)):
        for name, *vals in re.findall(rf"(GAN|PacGAN\d) {NUM}±{NUM} / {NUM}±{NUM} / {NUM}±{NUM}", part):
            v = [float(x) for x in vals]
            rows[("lin2018:" + name, target)] = [(v[0], v[1]), (v[2], v[3]), (v[4], v[5])]
    ring, grid = vee.split("ring ", 1)[1].split("; grid ")
    for target, part in (("ring8", ring), ("grid25", grid)):
        for name, modes, hq in re.findall(rf"(Unrolled GAN|GAN) {NUM} / {NUM} %", part):
            rows[("srivastava2017:" + name, target)] = [(float(modes), None), (float(hq), None)]
    for target, word in (("ring8", "ring"), ("grid25", "grid")):
        modes, hq = re.search(rf"{word} {NUM} / {NUM} %", gdpp).groups()
        rows[("elfeki2019:WGAN-GP", target)] = [(float(modes), None), (float(hq), None)]
    return rows


def test_published_rows_equal_the_issue_text():
    rows = _issue_rows()
    assert len(rows) == len(PUBLISHED) == 14
    for p in PUBLISHED:
        got = [(p.values[k].mean, p.values[k].se) for k in ("modes_captured", "high_quality_pct", "reverse_kl")
               if k in p.values]
        assert got == rows[(p.key, p.target)], p.key


def test_every_source_says_what_its_plus_minus_means():
    for p in PUBLISHED:
        assert p.source.pm and p.source.citation and p.source.samples == 2500
        has_se = any(v.se is not None for v in p.values.values())
        assert has_se == ("standard error" in p.source.pm), p.key
    assert published_for("lin2018:PacGAN3", "grid25").values["modes_captured"] == Value(24.6, 0.4)
    assert published_for("lin2018:PacGAN3", "swissroll") is None
    assert "srivastava2017:Unrolled GAN" in PUBLISHED_KEYS
    assert published_for("srivastava2017:GAN", "metz-ring8") is published_for("srivastava2017:GAN", "ring8")


def test_scaled_ring_has_the_same_mode_metrics():
    """The premise of comparing metz-ring8 with ring8's rows: scaling samples, centres and std by 2
    leaves modes captured, high-quality share and reverse KL unchanged."""
    from ganlab.metrics.modes import mode_metrics
    from ganlab.theory.targets import make_target

    small, big = make_target("ring8"), make_target("metz-ring8")
    x = small.sample(2000, 0, dtype=torch.float64) + 0.02 * torch.randn(2000, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a, b = mode_metrics(x, small), mode_metrics(2 * x, big)
    assert 0 < a.high_quality_fraction < 1  # the test must exercise the threshold
    assert (a.modes_captured, a.high_quality_fraction, list(a.mode_counts)) == (b.modes_captured, b.high_quality_fraction, list(b.mode_counts))
    assert a.reverse_kl == pytest.approx(b.reverse_kl, rel=1e-12)


@pytest.mark.parametrize("mean,se,n,theirs,outside", [
    (7.0, 0.1, 10, Value(7.9, 0.1), True),  # 0.9 > 2·√0.02 = 0.283
    (7.7, 0.1, 10, Value(7.9, 0.1), False),  # 0.2 < 0.283
    (6.75, 0.375, 10, Value(8.0, 0.5), False),  # exactly on the bound 2·√(0.375² + 0.5²) = 1.25: within
    (6.74, 0.375, 10, Value(8.0, 0.5), True),
    (7.5, 0.1, 5, Value(7.6), False),  # no published error: |Δ| = 0.1 < 2·0.1
    (7.5, 0.1, 5, Value(7.8), True),  # 0.3 > 0.2
    (8.0, 0.0, 5, Value(8.0), False),
    (8.0, 0.0, 5, Value(8.0, 0.1), False),
    (8.0, 0.0, 5, Value(7.6, 0.1), True),  # their error alone sets the tolerance: 0.4 > 0.2
    (9.0, 0.5, 5, Value(7.8, 0.1), True),  # ours higher
])
def test_the_rule(mean, se, n, theirs, outside):
    v = compare(mean, se, n, theirs)
    assert v.outside is outside
    if outside:
        assert v.text.startswith("OUTSIDE: ours " + ("higher" if mean > theirs.mean else "lower"))


def test_no_verdict_when_every_seed_agrees_and_they_print_no_error():
    # 5 of 5 seeds at 8 of 8 modes: s.e. 0 is no measure of spread (a run that misses a mode 40 % of
    # the time gives five 8s with probability 0.6⁵ ≈ 8 %), so 8 against a printed 7.6 gets no verdict
    v = compare(8.0, 0.0, 5, Value(7.6))
    assert v.outside is None and "s.e. 0" in v.text and "5 seeds" in v.text


def test_no_verdict_without_a_standard_error_or_a_value():
    assert compare(7.0, None, 1, Value(7.9, 0.1)).outside is None
    assert "n = 1" in compare(7.0, None, 1, Value(7.9, 0.1)).text
    assert compare(7.0, 0.1, 10, None) is None
    assert compare(None, None, 0, Value(7.9)) is None


def test_caveats_name_protocol_and_budget():
    lin = PUBLISHED[0].source
    assert caveats(lin, "pacgan", 400_000) == []
    assert caveats(lin, "pacgan", 10_000) == ["budget differs: 10,000 of their 400,000 iterations"]
    assert caveats(lin, "quick", 3000) == ["protocol differs: ours is the quick preset, theirs the pacgan one"]
    vee = published_for("srivastava2017:GAN", "ring8").source
    assert caveats(vee, "unrolled", 25_000) == []  # "unrolled" and "veegan" are the same preset
    assert caveats(vee, "veegan", 25_000, "ring8") == []
    assert caveats(vee, "veegan", 25_000, "metz-ring8") == ["target: metz-ring8, their ring8 scaled (the same mode metrics)"]
