"""Published 2-D mode-coverage results as data, and the rule that says when ours differ.

Each ``Published`` row is one method on one target from one paper's table, with what its ± means.
A sweep variant names the rows to show beside it (``compare = ["lin2018:PacGAN2"]``); the row for
the cell's target is used.

The rule (``compare``), per metric:

* they print a standard error (PacGAN): ours is *outside* when
  |ours − theirs| > 2 · √(se_ours² + se_theirs²), i.e. the difference of two independent means is
  more than two of its standard errors;
* they print no error (VEEGAN, GDPP): ours is *outside* when |ours − theirs| > 2 · se_ours, i.e.
  their value lies outside our own ±2 s.e. interval. Their own scatter is unknown, so this rule
  is the stricter one; it says nothing about their uncertainty.

With fewer than two of our seeds there is no standard error and no verdict; nor when every seed
gave the same value, it differs from theirs and they print no error (all 5 seeds capture 8 of 8
modes: s.e. 0 at the metric's ceiling says nothing about the spread, and a zero tolerance would
flag any difference). High-quality share is compared in per cent, as the papers print it.
"Outside" is a statement about the numbers, not about who is right: a different protocol or
budget (stated beside every comparison) is the usual reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

METRICS = ("modes_captured", "high_quality_pct", "reverse_kl")


@dataclass(frozen=True)
class Value:
    mean: float
    se: float | None = None  # None: printed without an error


@dataclass(frozen=True)
class Source:
    key: str
    citation: str  # paper and table
    protocol: str  # the setting, in words
    preset: str  # our preset that reproduces it (ganlab.training.presets)
    steps: int | None  # their training iterations, where the paper or its code states them
    trials: int | None
    pm: str  # what the printed ± means
    samples: int = 2500
    notes: str = ""


@dataclass(frozen=True)
class Published:
    source: Source
    method: str  # as the paper names it
    target: str  # our target name
    values: dict[str, Value] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source.key}:{self.method}"


LIN2018 = Source(
    key="lin2018",
    citation="Lin et al. 2018 (PacGAN), Table 1",
    protocol="PacGAN's nets and training (G 4 × 400 BN, D maxout 3 × 200 × 5), 400 epochs",
    preset="pacgan", steps=400_000, trials=10,
    pm="standard error over 10 trials (as the issue records it)",
    notes="GAN is PacGAN1: the non-saturating GAN on PacGAN's nets.")
SRIVASTAVA2017 = Source(
    key="srivastava2017",
    citation="Srivastava et al. 2017 (VEEGAN), Table 1",
    protocol="the unrolled-GAN notebook's nets and budget (2 × 128 tanh, z of 256, 25,000 iterations)",
    preset="veegan", steps=25_000, trials=5,
    pm="no error printed",
    notes="The notebook's ring repeats a centre (7 distinct modes); ours has 8. GAN uses the minimax G loss.")
ELFEKI2019 = Source(
    key="elfeki2019",
    citation="Elfeki et al. 2019 (GDPP), Table 1",
    protocol="the VEEGAN setting",
    preset="veegan", steps=None, trials=None,
    pm="no error printed")


def _row(source: Source, method: str, target: str, modes: tuple, hq: tuple, rkl: tuple | None = None) -> Published:
    values = {"modes_captured": Value(*modes), "high_quality_pct": Value(*hq)}
    if rkl is not None:
        values["reverse_kl"] = Value(*rkl)
    return Published(source, method, target, values)


PUBLISHED: tuple[Published, ...] = (
    _row(LIN2018, "GAN", "ring8", (6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
    _row(LIN2018, "PacGAN2", "ring8", (7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
    _row(LIN2018, "PacGAN3", "ring8", (7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
    _row(LIN2018, "PacGAN4", "ring8", (7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    _row(LIN2018, "GAN", "grid25", (17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
    _row(LIN2018, "PacGAN2", "grid25", (23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
    _row(LIN2018, "PacGAN3", "grid25", (24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
    _row(LIN2018, "PacGAN4", "grid25", (24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
    _row(SRIVASTAVA2017, "GAN", "ring8", (1,), (99.3,)),
    _row(SRIVASTAVA2017, "Unrolled GAN", "ring8", (7.6,), (35.6,)),
    _row(SRIVASTAVA2017, "GAN", "grid25", (3.3,), (0.5,)),
    _row(SRIVASTAVA2017, "Unrolled GAN", "grid25", (23.6,), (16,)),
    _row(ELFEKI2019, "WGAN-GP", "ring8", (6.8,), (59.6,)),
    _row(ELFEKI2019, "WGAN-GP", "grid25", (24.2,), (28.7,)),
)
PUBLISHED_KEYS: tuple[str, ...] = tuple(dict.fromkeys(p.key for p in PUBLISHED))


# Targets that are a published one scaled (centres and standard deviations by one factor): modes
# captured, the high-quality share (distance in standard deviations) and the reverse KL of the mode
# histogram do not change under a common scaling, so their rows are the published target's.
SAME_SHAPE = {"metz-ring8": "ring8"}


def published_for(key: str, target: str) -> Published | None:
    target = SAME_SHAPE.get(target, target)
    return next((p for p in PUBLISHED if p.key == key and p.target == target), None)


RULE = ("ours is flagged OUTSIDE when |ours − theirs| > 2·√(se_ours² + se_theirs²) where they print a "
        "standard error, and when |ours − theirs| > 2·se_ours where they print none; no verdict with fewer "
        "than 2 of our seeds, nor when every seed gave the same value, it differs from theirs and they print no error")


@dataclass(frozen=True)
class Verdict:
    outside: bool | None  # None: no verdict possible
    text: str


def compare(mean: float | None, se: float | None, n: int, theirs: Value | None) -> Verdict | None:
    """Ours (mean ± se over n seeds) against their value, by the rule above; None when either side
    has no value for the metric."""
    if theirs is None or mean is None or not math.isfinite(mean):
        return None
    if n < 2 or se is None or not math.isfinite(se):
        return Verdict(None, f"no verdict (n = {n})")
    tol = 2 * math.sqrt(se**2 + theirs.se**2) if theirs.se is not None else 2 * se
    diff = mean - theirs.mean
    if se == 0 and theirs.se is None and diff != 0:
        return Verdict(None, f"no verdict (all {n} seeds gave {mean:.3g}: s.e. 0)")
    if abs(diff) > tol:
        side = "higher" if diff > 0 else "lower"
        return Verdict(True, f"OUTSIDE: ours {side} by {abs(diff):.3g} (> {tol:.2g})")
    return Verdict(False, "within")


def caveats(source: Source, preset: str, steps: int, target: str | None = None) -> list[str]:
    """Why a comparison is not like for like: another protocol, another budget, or a target that
    stands in for theirs (``SAME_SHAPE``). (Fields a variant sets on top of its preset are listed
    with the variants, not judged here.)"""
    from ..training.presets import PRESETS

    out = []
    if target in SAME_SHAPE:
        out.append(f"target: {target}, their {SAME_SHAPE[target]} scaled (the same mode metrics)")
    same = PRESETS[preset] is PRESETS[source.preset]  # "unrolled" and "veegan" are one protocol
    if not same:
        out.append(f"protocol differs: ours is the {preset} preset, theirs the {source.preset} one")
    elif source.steps is not None and steps != source.steps:
        out.append(f"budget differs: {steps:,} of their {source.steps:,} iterations")
    return out


def source_dict(s: Source) -> dict[str, Any]:
    return {"key": s.key, "citation": s.citation, "protocol": s.protocol, "preset": s.preset, "steps": s.steps,
            "trials": s.trials, "pm": s.pm, "samples": s.samples, "notes": s.notes}
