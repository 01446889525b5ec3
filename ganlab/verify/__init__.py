"""Theory claims checked numerically on named toy pairs: ``ganlab verify``.

A claim is a function of a seed returning rows (``ClaimResult``); ``register_claim(name, kind)``
adds it to ``CLAIMS``. Every row compares a value predicted by theory with one measured by an
independent method (another method, a closed form, a finer reference), never a function with
itself. Its columns:

* ``claim``: what is checked, on which pair;
* ``kind``: "exact" (closed forms, quadrature, linear programs, Monte Carlo of known densities),
  "trained" (involves a network trained by gradient descent) or "bound" (a trained row that can
  only bound: at this budget the run stays a large fraction of the quantity's range from the
  predicted limit, so its allowance, set from the development spread, rejects gross errors — the
  planted wrong answers of tests/verify/test_trained_planted.py — but cannot confirm the value);
* ``predicted``: the value theory predicts (for "≤" / "≥" claims: the bound);
* ``measured``: the value computed;
* ``error``: the measurement's own uncertainty, of the kind ``error_kind`` says: "quadrature
  bound" (the integrator's error estimate, tails included), "standard error" (of a Monte Carlo
  mean, or of a sample statistic), "rounding" (float64 rounding of an exact formula),
  "optimizer resolution" (how closely an optimiser can locate a flat maximum), "linearisation
  bound" (how far a nonlinear map can depart from its Jacobian's prediction near a fixed point), or
  "none";
* ``tolerance``: set before measuring, from what the method promises (the quadrature's
  requested accuracy, a number of a-priori standard errors, LP or rounding precision); each
  claim says how in a comment;
* ``pass``: the relation holds within the tolerance (|measured − predicted| ≤ tolerance for
  "=", measured ≤ bound + tolerance for "≤", measured ≥ bound − tolerance for "≥") *and* the
  measurement's own error is within the tolerance. A measurement that cannot vouch for the
  promised accuracy fails rather than widening the tolerance: a quadrature box narrowed from 12σ
  to 4σ reports an error of 1e-4 and fails against its 1e-9 promise.

``run_claims`` runs the registered claims (all, or some ``names``, or some ``kinds``, trained
ones for a ``budget``); a claim that raises becomes a failing row naming the exception. The exact
claims live in ``ganlab.verify.exact``, the trained ones (the experiments of
``ganlab.experiments``) in ``ganlab.verify.trained``; both are registered on import.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..validation import check_choice

KINDS = ("exact", "trained")  # of a claim
ROW_KINDS = (*KINDS, "bound")  # of a row: a trained claim's row may be marked "bound" (``bound``)
ERROR_KINDS = ("quadrature bound", "standard error", "rounding", "optimizer resolution", "linearisation bound", "none")
COLUMNS = ("claim", "kind", "predicted", "measured", "error", "error_kind", "tolerance", "pass")


@dataclass(frozen=True)
class ClaimResult:
    """One checked prediction (see the module docstring for the columns)."""

    claim: str
    predicted: float
    measured: float
    error: float
    error_kind: str
    tolerance: float
    passed: bool
    kind: str = "exact"


def bound(row: ClaimResult) -> ClaimResult:
    """``row`` marked as one that can only bound (kind "bound", kept by ``run_claims``)."""
    return dataclasses.replace(row, kind="bound")


def _row(claim: str, predicted: float, measured: float, error: float, tolerance: float, error_kind: str, holds: bool) -> ClaimResult:
    check_choice("error kind", error_kind, ERROR_KINDS)
    within = bool(holds) and bool(error <= tolerance)  # False for NaN anywhere
    return ClaimResult(claim, float(predicted), float(measured), float(error), error_kind, float(tolerance), within)


def equal(claim: str, predicted: float, measured: float, error: float, tolerance: float, error_kind: str) -> ClaimResult:
    """Passes when |measured − predicted| ≤ tolerance and error ≤ tolerance."""
    return _row(claim, predicted, measured, error, tolerance, error_kind, abs(measured - predicted) <= tolerance)


def at_most(claim: str, bound: float, measured: float, error: float, tolerance: float, error_kind: str) -> ClaimResult:
    """Passes when measured ≤ bound + tolerance and error ≤ tolerance."""
    return _row(claim, bound, measured, error, tolerance, error_kind, measured <= bound + tolerance)


def at_least(claim: str, bound: float, measured: float, error: float, tolerance: float, error_kind: str) -> ClaimResult:
    """Passes when measured ≥ bound − tolerance and error ≤ tolerance."""
    return _row(claim, bound, measured, error, tolerance, error_kind, measured >= bound - tolerance)


ClaimFn = Callable[..., list[ClaimResult]]
BUDGETS = ("short", "long")


@dataclass(frozen=True)
class Claim:
    """A registered claim: its name, its kind and the function that checks it — of a seed for an
    exact claim, of a seed and a budget ("short" or "long", how long its networks train) for a
    trained one."""

    name: str
    kind: str
    fn: ClaimFn

    def __call__(self, seed: int, budget: str = "short") -> list[ClaimResult]:
        return self.fn(seed, budget) if self.kind == "trained" else self.fn(seed)


CLAIMS: dict[str, Claim] = {}


def register_claim(name: str, kind: str = "exact") -> Callable[[ClaimFn], ClaimFn]:
    """Decorator: register ``fn(seed) -> rows`` as claim ``name`` of kind "exact", or
    ``fn(seed, budget) -> rows`` as one of kind "trained"."""
    check_choice("claim kind", kind, KINDS)
    if name in CLAIMS:
        raise ValueError(f"claim {name!r} is already registered")

    def add(fn: ClaimFn) -> ClaimFn:
        CLAIMS[name] = Claim(name, kind, fn)
        return fn

    return add


def select_claims(names: Iterable[str] | None = None, kinds: Iterable[str] | None = None) -> list[str]:
    """The registered claim names to run, in registration order: all, or those in ``names``
    (each must exist), restricted to ``kinds`` when given."""
    chosen = list(CLAIMS) if names is None else [check_choice("claim", n, CLAIMS) for n in names]
    if kinds is not None:
        kinds = [check_choice("claim kind", k, KINDS) for k in kinds]
        chosen = [n for n in chosen if CLAIMS[n].kind in kinds]
    return chosen


Progress = Callable[[str, int, int], None]


def run_claims(
    seed: int = 0,
    names: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    progress: Progress | None = None,
    budget: str = "short",
) -> list[ClaimResult]:
    """Run the selected claims (``select_claims(names, kinds)``) and return every row, each
    stamped with its claim's kind; trained claims train for ``budget`` ("short": the default,
    seconds each on one CPU thread; "long": minutes). ``progress(name, index, total)`` is called
    before each claim (index from 0). A claim that raises gives one failing row naming the
    exception, with NaN values, instead of stopping the run. A row marked "bound" (``bound``) keeps
    that kind. The same seed gives the same numbers."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    check_choice("budget", budget, BUDGETS)
    chosen = select_claims(names, kinds)
    results: list[ClaimResult] = []
    for index, name in enumerate(chosen):
        claim = CLAIMS[name]
        if progress is not None:
            progress(name, index, len(chosen))
        try:
            rows = claim(seed, budget)
        except Exception as exc:  # noqa: BLE001 — reported as a failing row, never swallowed
            nan = math.nan
            rows = [ClaimResult(f"{name}: raised {type(exc).__name__}: {exc}", nan, nan, nan, "none", nan, False)]
        results.extend(dataclasses.replace(r, kind="bound" if r.kind == "bound" else claim.kind) for r in rows)
    return results


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def format_table(results: Sequence[ClaimResult]) -> str:
    """A plain-text table with the columns claim, kind, predicted, measured, error, error_kind,
    tolerance, pass."""
    rows = [
        [
            r.claim,
            r.kind,
            _fmt(r.predicted),
            _fmt(r.measured),
            _fmt(r.error),
            r.error_kind,
            _fmt(r.tolerance),
            "yes" if r.passed else "NO",
        ]
        for r in results
    ]
    header = list(COLUMNS)
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    left = {0, 1, 5}  # text columns
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += [
        "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    return "\n".join(lines)


def _json_number(v: float) -> float | None:
    """JSON has no inf/NaN: those become null."""
    return float(v) if math.isfinite(v) else None


def to_json_records(results: Sequence[ClaimResult]) -> list[dict[str, Any]]:
    """One dict per row with exactly the keys claim, kind, predicted, measured, error,
    error_kind, tolerance, pass."""
    return [
        {
            "claim": r.claim,
            "kind": r.kind,
            "predicted": _json_number(r.predicted),
            "measured": _json_number(r.measured),
            "error": _json_number(r.error),
            "error_kind": r.error_kind,
            "tolerance": _json_number(r.tolerance),
            "pass": bool(r.passed),
        }
        for r in results
    ]


from . import exact  # noqa: E402,F401  (registers the exact claims)
from . import trained  # noqa: E402,F401  (registers the trained claims)
from . import dirac  # noqa: E402,F401  (registers the Dirac-GAN claims)
from ..theory.pairs import drop_modes, shifted, toy_pairs  # noqa: E402,F401  (the named pairs, re-exported)
