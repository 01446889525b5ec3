"""The trained claims of ``ganlab verify`` (``ganlab.verify.trained``): registered with their kind,
run for a budget, deterministic, and able to fail. The fast ones run here; every claim together
runs as ``ganlab verify`` (and in the slow test below)."""

import numpy as np
import pytest

import ganlab.experiments as experiments
from ganlab.experiments import convergence, unrolling
from ganlab.verify import CLAIMS, format_table, run_claims, select_claims, to_json_records


@pytest.fixture
def fresh_experiments():
    """Every experiment's cache emptied before and after (monkeypatched runs must not be reused)."""
    for fn in experiments.EXPERIMENTS.values():
        fn.cache_clear()
    yield
    for fn in experiments.EXPERIMENTS.values():
        fn.cache_clear()


def test_trained_claims_are_registered_with_their_kind():
    trained = select_claims(kinds=("trained",))
    assert len(trained) >= 12
    for name in trained:
        assert CLAIMS[name].fn.__doc__, name
    assert CLAIMS["mle_gan_gradient"].kind == "exact"  # Monte Carlo of known densities, no training


def test_budget_is_checked_and_passed_on():
    with pytest.raises(ValueError, match="unknown budget 'medium'"):
        run_claims(names=["losses"], budget="medium")


def test_cli_budget_flag_reaches_run_claims(monkeypatch, capsys):
    from ganlab import cli

    seen = {}

    def fake_run_claims(**kw):
        seen.update(kw)
        return []

    monkeypatch.setattr("ganlab.verify.run_claims", fake_run_claims)
    assert cli.main(["verify", "--kind", "trained", "--budget", "long", "--quiet"]) == 0
    assert seen["budget"] == "long" and seen["kinds"] == ("trained",)
    assert cli.main(["verify", "--quiet"]) == 0 and seen["budget"] == "short"


FAST = ["unrolled_gradient", "convergence_to_p_data", "mle_gan_gradient"]


def test_fast_claims_pass_and_repeat(fresh_experiments):
    rows = run_claims(0, FAST)
    assert rows and all(r.passed for r in rows), format_table([r for r in rows if not r.passed])
    assert {r.kind for r in rows} == {"trained", "exact"}
    for fn in experiments.EXPERIMENTS.values():
        fn.cache_clear()
    assert to_json_records(run_claims(0, FAST)) == to_json_records(rows)  # same seed, same numbers
    unrolled = [r.measured for r in rows if "d f_K/db" in r.claim]
    assert [r.measured for r in run_claims(1, ["unrolled_gradient"]) if "d f_K/db" in r.claim] != unrolled


def test_wrong_convention_in_the_update_fails_convergence(fresh_experiments, monkeypatch):
    """Planted slip: p_g updated with log D* (the real = 0 convention's gradient) instead of
    log(1 − D*): C rises, and the failing row shows what it measured and its tolerance."""
    monkeypatch.setattr(convergence, "value_gradient", lambda p, q: np.log(p / (p + q)))
    rows = run_claims(0, ["convergence_to_p_data"])
    failed = [r for r in rows if not r.passed]
    assert any(r.measured > r.predicted + r.tolerance for r in failed)
    table = format_table(failed)
    assert all(f"{r.measured:.6g}" in table and f"{r.tolerance:.6g}" in table and "NO" in table for r in failed)


def test_first_order_unroll_fails_the_unrolled_claim(fresh_experiments, monkeypatch):
    """Planted slip: the unrolled steps treated as constants (first order): the surrogate's gradient
    stays the vanilla one, and every K ≥ 1 row fails."""
    build = unrolling.unrolled_trainer

    def first_order(s, k, seed):
        t = build(s, k, seed)
        t.cfg = type(t.cfg).from_dict({**t.cfg.to_dict(), "method": {**t.cfg.to_dict()["method"], "unroll_order": "first"}})
        return t

    monkeypatch.setattr(unrolling, "unrolled_trainer", first_order)
    rows = run_claims(0, ["unrolled_gradient"])
    assert sum(not r.passed for r in rows) >= 5, format_table(rows)


@pytest.mark.slow
def test_every_trained_claim_passes_at_the_short_budget():
    rows = run_claims(0, kinds=("trained",))
    failed = [r for r in rows if not r.passed]
    assert not failed, format_table(failed)
