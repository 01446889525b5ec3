"""The claims registry, ``run_claims`` (selection, progress, failures, determinism) and its table /
JSON output."""

import functools
import json
import math

import pytest

import ganlab.verify as verify
import ganlab.verify.exact as exact
from ganlab.verify import (
    CLAIMS,
    COLUMNS,
    ERROR_KINDS,
    ClaimResult,
    at_least,
    at_most,
    equal,
    format_table,
    register_claim,
    run_claims,
    select_claims,
    to_json_records,
)


@pytest.fixture(scope="module")
def results():
    """The exact claims (the trained ones train networks: tests/verify/test_trained.py)."""
    return run_claims(seed=0, kinds=("exact",))


def test_every_exact_claim_passes(results):
    failed = [r for r in results if not r.passed]
    assert not failed, format_table(failed)
    assert len(CLAIMS) >= 16 and len(results) >= 100


def test_claim_rows_are_finite_exact_and_name_their_error(results):
    for r in results:
        assert all(math.isfinite(v) for v in (r.predicted, r.measured, r.error, r.tolerance)), r
        assert 0 <= r.error <= r.tolerance, r
        assert r.kind == "exact" and r.error_kind in ERROR_KINDS, r


def test_json_records_have_exactly_the_keys(results):
    records = to_json_records(results)
    assert all(list(rec) == list(COLUMNS) for rec in records)
    assert COLUMNS == ("claim", "kind", "predicted", "measured", "error", "error_kind", "tolerance", "pass")
    assert json.loads(json.dumps(records, allow_nan=False)) == records


def test_table_shows_kind_and_error_kind():
    rows = [
        equal("a = b", 1.0, 1.0, 0.0, 1e-12, "rounding"),
        at_most("x <= 1", 1.0, 2.0, 0.1, 0.5, "standard error"),
    ]
    table = format_table(rows).splitlines()
    assert table[0].split() == list(COLUMNS)
    assert len(table) == 4 and table[2].endswith("yes") and table[3].endswith("NO")
    assert " exact " in table[2] and "standard error" in table[3]


def test_relations_hold_within_the_tolerance_and_need_the_error_within_it():
    """A row passes when its relation holds within the tolerance and its own error is within the
    tolerance: a measurement whose error exceeds what the method promises fails even when the
    values agree (a narrowed quadrature box cannot pass by reporting a larger error)."""
    assert equal("", 1.0, 1.1, 0, 0.1 + 1e-12, "none").passed and not equal("", 1.0, 1.2, 0, 0.1, "none").passed
    assert at_most("", 1.0, 1.05, 0, 0.1, "none").passed and not at_most("", 1.0, 1.2, 0, 0.1, "none").passed
    assert at_least("", 1.0, 0.95, 0, 0.1, "none").passed and not at_least("", 1.0, 0.8, 0, 0.1, "none").passed
    for relation in (equal, at_most, at_least):
        assert not relation("", 1.0, 1.0, 1e-4, 1e-9, "quadrature bound").passed
        assert not relation("", 1.0, math.nan, 0.0, 1e-9, "quadrature bound").passed
        assert not relation("", 1.0, 1.0, math.nan, 1e-9, "quadrature bound").passed
    with pytest.raises(ValueError, match="unknown error kind 'bogus'"):
        equal("", 1.0, 1.0, 0.0, 0.0, "bogus")
    nan = to_json_records([ClaimResult("c", math.inf, math.nan, 0.0, "none", 0.0, False)])[0]
    assert nan["predicted"] is None and nan["measured"] is None and nan["pass"] is False


def test_narrowed_quadrature_box_fails_verify(monkeypatch):
    """With boxes of 4σ instead of 12σ (and errors allowed to grow), ∫p over a 2-D target misses
    1.3e-4 of the mass and reports an error of that size: every 2-D normalisation row fails its
    a-priori 1e-9. (1-D quadrature integrates the whole line; the box only places breakpoints.)"""
    narrowed = functools.partial(exact.integrate_over_modes, n_std=4.0, max_error=1.0)
    monkeypatch.setattr(exact, "integrate_over_modes", narrowed)
    rows = [r for r in run_claims(names=["densities_integrate_to_one"]) if "mixture1d" not in r.claim]
    two_d = {"ring8", "grid25", "metz-ring8", "wgan-gp-8gaussians", "wgan-gp-25gaussians"}
    assert {r.claim.split("[")[1][:-1] for r in rows} == two_d, format_table(rows)
    assert not any(r.passed for r in rows), format_table(rows)
    assert all(r.error > r.tolerance for r in rows)


def test_selection_by_name_and_kind():
    assert select_claims() == list(CLAIMS)
    assert select_claims(kinds=("exact",)) == [n for n, c in CLAIMS.items() if c.kind == "exact"]
    assert select_claims(kinds=("trained",)) == [n for n, c in CLAIMS.items() if c.kind == "trained"]
    assert select_claims(["losses", "packed_tv"]) == ["losses", "packed_tv"]
    with pytest.raises(ValueError, match="unknown claim 'nope'"):
        run_claims(names=["nope"])
    with pytest.raises(ValueError, match="unknown claim kind 'learned'"):
        run_claims(kinds=("learned",))
    with pytest.raises(ValueError, match="seed must be an integer, got 1.5"):
        run_claims(seed=1.5)


@pytest.fixture
def temporary_claims():
    added = []

    def register(name, kind, fn):
        register_claim(name, kind=kind)(fn)
        added.append(name)

    yield register
    for name in added:
        del CLAIMS[name]


def test_a_raising_claim_is_a_failing_row_with_its_kind(temporary_claims):
    """A claim that raises (e.g. a trained claim whose training diverges) gives one failing row
    that names the exception, never a bare traceback; the row carries the claim's kind."""

    def boom(seed, budget):
        raise RuntimeError(f"training diverged at seed {seed}")

    temporary_claims("boom_trained", "trained", boom)
    (row,) = run_claims(seed=3, names=["boom_trained"])
    assert not row.passed and row.kind == "trained"
    assert row.claim == "boom_trained: raised RuntimeError: training diverged at seed 3"
    assert to_json_records([row])[0]["measured"] is None
    assert "boom_trained" in select_claims(kinds=("trained",)) and "boom_trained" not in select_claims(kinds=("exact",))


def test_a_bound_row_keeps_its_kind(temporary_claims):
    """A trained claim's row marked ``bound`` is of kind "bound" in the table and the JSON; its
    other rows take the claim's kind."""
    from ganlab.verify import bound

    temporary_claims("bounded", "trained", lambda seed, budget: [
        equal("a = b", 1.0, 1.0, 0.0, 0.1, "none"), bound(at_most("x <= 1", 1.0, 0.5, 0.0, 0.1, "none"))])
    rows = run_claims(names=["bounded"])
    assert [r.kind for r in rows] == ["trained", "bound"]
    assert [rec["kind"] for rec in to_json_records(rows)] == ["trained", "bound"]
    assert format_table(rows).splitlines()[3].split()[3] == "bound"
    assert verify.ROW_KINDS == ("exact", "trained", "bound")


def test_progress_is_called_before_each_claim(temporary_claims):
    log = []
    for name in ("first_claim", "second_claim"):
        temporary_claims(name, "exact", lambda seed, name=name: log.append(("run", name)) or [])
    run_claims(names=["first_claim", "second_claim"], progress=lambda *args: log.append(("progress", *args)))
    assert log == [
        ("progress", "first_claim", 0, 2),
        ("run", "first_claim"),
        ("progress", "second_claim", 1, 2),
        ("run", "second_claim"),
    ]


def test_register_claim_validates(temporary_claims):
    with pytest.raises(ValueError, match="unknown claim kind 'fast'"):
        register_claim("x", kind="fast")
    with pytest.raises(ValueError, match="claim 'losses' is already registered"):
        register_claim("losses")


def test_same_seed_same_numbers():
    """The sampled claims give identical records for the same seed, different ones for another."""
    names = ["packed_tv", "mode_metrics", "monte_carlo", "mle_minimises_kl"]
    first, again = to_json_records(run_claims(5, names)), to_json_records(run_claims(5, names))
    assert first == again
    assert to_json_records(run_claims(6, names)) != first


def test_toy_pairs_have_the_advertised_relations():
    pairs = verify.toy_pairs()
    assert set(pairs) == {"identical ring8", "shifted ring8", "mode-dropped grid25", "disjoint 1-D"}
    p, q = pairs["mode-dropped grid25"]
    assert p.n_modes == 25 and q.n_modes == 20 and float(q.weights.sum()) == pytest.approx(1.0)


def test_quantile_w1_hand_values():
    """The written-out 1-D W1 of the w1 claim: W1({0, 1}, {0.5}) = 0.5 (both points move ½);
    W1({0, 2}, {1, 1, 4}) = ∫|F_u − F_v| = ½·1 + (1/6)·1 + (1/3)·2 = 4/3 (the CDFs differ by ½ on
    [0, 1), by ½ − ⅔ on [1, 2), by 1 − ⅔ on [2, 4))."""
    assert exact.quantile_w1([0.0, 1.0], [0.5]) == pytest.approx(0.5, abs=1e-15)
    assert exact.quantile_w1([0.0, 2.0], [1.0, 1.0, 4.0]) == pytest.approx(4 / 3, abs=1e-15)


# -- the command -------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,match", [
    (["--seed", "-1"], "--seed must be a non-negative integer, got -1"),
    (["--json", "{tmp}"], "is a directory"),
    (["--json", "{tmp}/missing/out.json"], "does not exist"),
    (["--json", "/proc/ganlab-verify.json"], "--json /proc/ganlab-verify.json: cannot write in folder '/proc'"),
    (["--json", "{tmp}/file/out.json"], "folder '{tmp}/file' is not a folder"),
    (["--json", "{tmp}/file"], "exists; pass --force to overwrite it"),
])
def test_verify_refuses_bad_input_before_computing(tmp_path, capsys, monkeypatch, argv, match):
    from ganlab import cli

    (tmp_path / "file").write_text("x")
    monkeypatch.setattr("ganlab.verify.run_claims", lambda **kw: pytest.fail("computed before refusing"))
    assert cli.main(["verify", *[a.format(tmp=tmp_path) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert match.format(tmp=tmp_path) in err and err.count("\n") == 1


def _one_row(**kw):
    return [ClaimResult("c", 1.0, 1.0, 0.0, "none", 0.1, True)]


def test_verify_writes_its_json_whole_or_says_the_machine_failed(tmp_path, capsys, monkeypatch):
    """--json is written at the end (atomically); a write that fails there anyway (the disk filled
    during the claims) is the machine's failure: exit 5 and one line, never a traceback."""
    import errno

    from ganlab import cli
    from ganlab.training import rundir

    monkeypatch.setattr("ganlab.verify.run_claims", _one_row)
    out = tmp_path / "rows.json"
    assert cli.main(["verify", "--quiet", "--json", str(out)]) == 0
    assert json.loads(out.read_text()) == to_json_records(_one_row())
    capsys.readouterr()

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rundir, "atomic_write", full)
    assert cli.main(["verify", "--quiet", "--json", str(tmp_path / "again.json")]) == 5
    err = capsys.readouterr().err
    assert "No space left on device" in err and err.count("\n") == 1 and not (tmp_path / "again.json").exists()


def test_verify_shows_progress_and_filters_by_kind(capsys):
    from ganlab import cli

    assert cli.main(["verify", "--kind", "exact"]) == 0
    out = capsys.readouterr()
    assert "[1/" in out.err and "passed, 0 failed" in out.out
    assert "trained" not in out.out.split("\n", 2)[2]  # only exact rows after the header


def test_ctrl_c_during_verify_is_one_line_and_exit_130(capsys, monkeypatch):
    from ganlab import cli

    def interrupted(**kw):
        raise KeyboardInterrupt

    monkeypatch.setattr("ganlab.verify.run_claims", interrupted)
    assert cli.main(["verify", "--quiet"]) == 130
    err = capsys.readouterr().err
    assert err == "interrupted: ganlab verify stopped\n"
