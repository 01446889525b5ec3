"""The claims registry, ``run_claims`` and its table / JSON output."""

import json
import math
import time

import pytest

import ganlab.verify as verify
from ganlab.verify import CLAIMS, ClaimResult, at_least, at_most, equal, format_table, run_claims, to_json_records


@pytest.fixture(scope="module")
def results():
    t0 = time.perf_counter()
    rows = run_claims(seed=0)
    return rows, time.perf_counter() - t0


def test_every_claim_passes(results):
    rows, seconds = results
    failed = [r for r in rows if not r.passed]
    assert not failed, format_table(failed)
    assert len(CLAIMS) >= 12 and len(rows) >= 40


def test_claim_rows_are_finite_with_nonnegative_tolerances(results):
    for r in results[0]:
        assert all(math.isfinite(v) for v in (r.predicted, r.measured, r.error, r.tolerance)), r
        assert r.error >= 0 and r.tolerance >= 0, r


def test_json_records_have_exactly_the_keys(results):
    records = to_json_records(results[0])
    assert all(set(rec) == {"claim", "predicted", "measured", "error", "tolerance", "pass"} for rec in records)
    assert json.loads(json.dumps(records, allow_nan=False)) == records


def test_table_has_a_row_per_result():
    rows = [equal("a = b", 1.0, 1.0, 0.0, 1e-12), at_most("x <= 1", 1.0, 2.0, 0.1, 0.5)]
    table = format_table(rows).splitlines()
    assert table[0].split() == ["claim", "predicted", "measured", "error", "tolerance", "pass"]
    assert len(table) == 4 and table[2].endswith("yes") and table[3].endswith("NO")


def test_relations():
    assert equal("", 1.0, 1.1, 0, 0.1 + 1e-12).passed and not equal("", 1.0, 1.2, 0, 0.1).passed
    assert at_most("", 1.0, 1.05, 0, 0.1).passed and not at_most("", 1.0, 1.2, 0, 0.1).passed
    assert at_least("", 1.0, 0.95, 0, 0.1).passed and not at_least("", 1.0, 0.8, 0, 0.1).passed
    nan = to_json_records([ClaimResult("c", math.inf, math.nan, 0.0, 0.0, False)])[0]
    assert nan["predicted"] is None and nan["measured"] is None and nan["pass"] is False


def test_unknown_claim_named():
    with pytest.raises(ValueError, match="unknown claim 'nope'"):
        run_claims(names=["nope"])


def test_toy_pairs_have_the_advertised_relations():
    pairs = verify.toy_pairs()
    assert set(pairs) == {"identical ring8", "shifted ring8", "mode-dropped grid25", "disjoint 1-D"}
    p, q = pairs["mode-dropped grid25"]
    assert p.n_modes == 25 and q.n_modes == 20 and float(q.weights.sum()) == pytest.approx(1.0)
