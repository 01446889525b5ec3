"""Mutation check of the theory, the training engine and ``ganlab verify``: plant plausible one-line
slips, one at a time, in a temporary copy of the package, and check that the tests or
``ganlab verify`` catch each.

    python benchmarks/mutations.py              # every slip, a table, exit 1 if one escapes
    python benchmarks/mutations.py --only tv    # slips whose name contains "tv"
    python benchmarks/mutations.py --list

Each slip replaces one exact snippet of one file (it must occur exactly once, so a slip whose
code has moved is reported as stale instead of silently testing nothing) and names the test files
and verify claims that should catch it. The working tree is never modified: ``ganlab/``,
``tests/`` and ``pyproject.toml`` are copied to a temporary directory, the slip is applied there
and pytest / run_claims run in that copy, single-threaded, with hypothesis derandomised. Add a
slip by appending to ``SLIPS``. About 10–30 s per slip on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Slip:
    name: str
    path: str  # relative to the repository root
    old: str
    new: str
    tests: tuple[str, ...] = ()  # pytest paths / node ids that should catch it
    claims: tuple[str, ...] = ()  # verify claims that should catch it


T = "tests/theory/"
SLIPS: list[Slip] = [
    Slip("C(G): log 4 -> log 2 in gan.py", "ganlab/theory/gan.py",
         "LOG4 = math.log(4.0)", "LOG4 = math.log(2.0)",
         (T + "test_gan.py",), ("virtual_criterion",)),
    Slip("JSD Monte Carlo SE: the 1/2 dropped", "ganlab/theory/divergences.py",
         "0.5 * math.hypot(sp, sq)", "math.hypot(sp, sq)",
         (T + "test_monte_carlo.py",), ("monte_carlo",)),
    Slip("quadrature box: BOX_STDS 12 -> 4", "ganlab/theory/quadrature.py",
         "BOX_STDS = 12.0", "BOX_STDS = 4.0",
         (T + "test_quadrature.py",), ("densities_integrate_to_one",)),
    Slip("quadrature box: BOX_STDS 12 -> 6", "ganlab/theory/quadrature.py",
         "BOX_STDS = 12.0", "BOX_STDS = 6.0",
         (T + "test_quadrature.py",), ("densities_integrate_to_one",)),
    Slip("tail bound: erfc(n/sqrt 2) -> erfc(n/2)", "ganlab/theory/quadrature.py",
         "return target.dim * math.erfc(n_std / math.sqrt(2.0))", "return target.dim * math.erfc(n_std / 2.0)",
         (T + "test_quadrature.py",)),
    Slip("tail bound: union over d dimensions dropped", "ganlab/theory/quadrature.py",
         "return target.dim * math.erfc(n_std / math.sqrt(2.0))", "return math.erfc(n_std / math.sqrt(2.0))",
         (T + "test_quadrature.py",)),
    Slip("TV integrand without the 1/2", "ganlab/theory/divergences.py",
         "return 0.5 * np.abs(np.exp(lp) - np.exp(lq))", "return np.abs(np.exp(lp) - np.exp(lq))",
         (T + "test_quadrature.py", T + "test_divergences.py"), ("total_variation",)),
    Slip("TV discrete without the 1/2", "ganlab/theory/divergences.py",
         "return float(0.5 * np.sum(np.abs(p - q)))", "return float(np.sum(np.abs(p - q)))",
         (T + "test_divergences.py", T + "test_packing.py")),
    Slip("KL discrete = sum p log(q/p)", "ganlab/theory/divergences.py",
         "np.log1p((ps - qs) / qs)", "np.log1p((qs - ps) / ps)",
         (T + "test_divergences.py",), ("virtual_criterion",)),
    Slip("KL integrand = p log(q/p)", "ganlab/theory/divergences.py",
         "return _xlogy_ratio(lp, lq)", "return _xlogy_ratio(lq, lp)",
         (T + "test_divergences.py", T + "test_quadrature.py"), ("kl_divergence",)),
    Slip("JSD integrand: m = p + q (log 2 dropped)", "ganlab/theory/divergences.py",
         "lm = np.logaddexp(lp, lq) - LOG2", "lm = np.logaddexp(lp, lq)",
         (T + "test_divergences.py", T + "test_quadrature.py"), ("jsd_bounds",)),
    Slip("JSD Monte Carlo: m = p + q", "ganlab/theory/divergences.py",
         "mean_and_standard_error(lpx - (torch.logaddexp(lpx, lqx) - LOG2))",
         "mean_and_standard_error(lpx - torch.logaddexp(lpx, lqx))",
         (T + "test_monte_carlo.py", T + "test_divergences.py"), ("monte_carlo",)),
    Slip("TV Monte Carlo without the positive part", "ganlab/theory/divergences.py",
         "(-torch.expm1(lq - lp)).clamp(min=0.0)", "(-torch.expm1(lq - lp))",
         (T + "test_monte_carlo.py", T + "test_divergences.py"), ("monte_carlo",)),
    Slip("C(G) Monte Carlo SE: hypot -> sum", "ganlab/theory/gan.py",
         "    m2, s2 = mean_and_standard_error(lqy - torch.logaddexp(lpy, lqy))\n"
         "    return Estimate(m1 + m2, math.hypot(s1, s2), \"monte_carlo\")",
         "    m2, s2 = mean_and_standard_error(lqy - torch.logaddexp(lpy, lqy))\n"
         "    return Estimate(m1 + m2, s1 + s2, \"monte_carlo\")",
         (), ("monte_carlo",)),
    Slip("packed TV Monte Carlo without the positive part", "ganlab/theory/packing.py",
         "(-torch.expm1(log_ratio)).clamp(min=0.0)", "(-torch.expm1(log_ratio))",
         (T + "test_packing.py", T + "test_monte_carlo.py"), ("packed_tv",)),
    Slip("D* logit: log p_g - log p_data", "ganlab/theory/gan.py",
         "self.sign * (self.log_p(pts) - self.log_q(pts))", "self.sign * (self.log_q(pts) - self.log_p(pts))",
         (T + "test_gan.py",), ("optimal_discriminator",)),
    Slip("value function: softplus signs swapped", "ganlab/theory/gan.py",
         "return -_softplus(-l), -_softplus(l)", "return -_softplus(l), -_softplus(-l)",
         (T + "test_gan.py",), ("optimal_discriminator",)),
    Slip("Gauss-Kronrod: a weight digit", "ganlab/theory/quadrature.py",
         "0.149445554002916905664936468389821", "0.149445554002196905664936468389821",
         (T + "test_quadrature.py",), ("densities_integrate_to_one",)),
    Slip("quadrature error estimate shrunk 5x", "ganlab/theory/quadrature.py",
         "err = np.abs(k - area * (values[:, _GAUSS_2D] @ _WG_2D))",
         "err = 0.2 * np.abs(k - area * (values[:, _GAUSS_2D] @ _WG_2D))",
         (T + "test_quadrature.py",)),
    Slip("kink check on the box edges dropped", "ganlab/theory/quadrature.py",
         "crossed[_boundary_crossed(evaluate, lo, hi)] = True", "pass",
         (T + "test_quadrature.py",)),
    Slip("non-saturating loss: softplus(l) for softplus(-l)", "ganlab/training/losses/gan.py",
         "return per_member_mean(F.softplus(-fake_logits))", "return per_member_mean(F.softplus(fake_logits))",
         (), ("losses", "nonsaturating_gradient")),
    Slip("gradient penalty: interpolate fake towards real", "ganlab/training/regularisers/gradient_penalty.py",
         "interp = (a * real + (1 - a) * fake)", "interp = (a * fake + (1 - a) * real)",
         (), ("losses",)),
    Slip("mode metrics: reverse KL as KL(w || p_hat)", "ganlab/metrics/modes.py",
         "p * torch.log1p((p - weights) / weights)", "weights * torch.log1p((weights - p) / p)",
         ("tests/metrics/test_modes.py",), ("mode_metrics",)),
]

# -- the training engine: each slip against the losses' written formulas, the independent reference
# loop (tests/training/test_engine.py) and the engine's own guarantees --------------------------------
E = "tests/training/"
REF = E + "test_engine.py::test_member_equals_the_reference_loop"
SLIPS += [
    Slip("non-saturating G loss: sign flipped", "ganlab/training/losses/gan.py",
         "return per_member_mean(F.softplus(-fake_logits))", "return -per_member_mean(F.softplus(-fake_logits))",
         (E + "test_losses.py", REF), ("losses",)),
    Slip("non-saturating G loss replaced by the minimax form", "ganlab/training/losses/gan.py",
         '"nonsaturating": generator_loss_nonsaturating}', '"nonsaturating": generator_loss_minimax}',
         (E + "test_losses.py", REF)),
    Slip("GAN D loss: real term with the wrong sign", "ganlab/training/losses/gan.py",
         "return per_member_mean(F.softplus(-real_logits)) + per_member_mean(F.softplus(fake_logits))",
         "return per_member_mean(F.softplus(real_logits)) + per_member_mean(F.softplus(fake_logits))",
         (E + "test_losses.py", REF), ("losses",)),
    Slip("WGAN critic loss with the wrong sign", "ganlab/training/losses/wasserstein.py",
         "return per_member_mean(fake_scores) - per_member_mean(real_scores)",
         "return per_member_mean(real_scores) - per_member_mean(fake_scores)",
         (E + "test_losses.py", REF), ("losses",)),
    Slip("gradient-penalty weight ignored in the step", "ganlab/training/regularisers/gradient_penalty.py",
         'return t.hyper["gp_lambda"].to(gp.dtype) * gp', "return gp",
         (REF, E + "test_engine.py::test_grid_member_equals_its_solo_run")),
    Slip("one unrolled step too few", "ganlab/training/engine.py",
         "for _ in range(m.unroll):", "for _ in range(max(m.unroll - 1, 0)):",
         (E + "test_engine.py::test_unrolled_loss_takes_k_discriminator_updates", REF)),
    Slip("Adam: beta1 and beta2 swapped", "ganlab/training/optim.py",
         "lr=lr, beta1=b1, beta2=b2,", "lr=lr, beta1=b2, beta2=b1,",
         (E + "test_optim.py", REF)),
    Slip("unrolled Adam without its first-moment bias correction", "ganlab/training/optim.py",
         "return p - member_view(lr, p) * (m / (1 - b1**t)) / denom", "return p - member_view(lr, p) * m / denom",
         (E + "test_optim.py", REF)),
    Slip("Adam: a learning-rate grid applies the first rate to every member", "ganlab/training/optim.py",
         "ps = self._pieces(self.params, members)", "ps = self._pieces(self.params, members); lr = self._groups[0][0]",
         (E + "test_optim.py", E + "test_engine.py::test_grid_member_equals_its_solo_run")),
    Slip("Adam: whole stacked tensors whatever the vector alignment", "ganlab/training/optim.py",
         "self._whole = [one_lr and (p[0].numel() * p.element_size()) % VECTOR_BYTES == 0 for p in params]",
         "self._whole = [one_lr for p in params]",
         (E + "test_optim.py::test_a_member_s_update_does_not_depend_on_how_many_members_share_the_tensor",)),
    Slip("weight clipping not applied", "ganlab/training/regularisers/weight_clipping.py",
         "torch.minimum(torch.maximum(p, -c), c, out=p)", "pass",
         (E + "test_engine.py::test_weight_clipping_bounds_every_critic_parameter_per_member", REF)),
    Slip("packing: slots taken from consecutive rows", "ganlab/training/packing.py",
         "return x.view(n, m, rows // m, *shape).transpose(1, 2).reshape(n, rows // m, m * shape[0], *shape[1:])",
         "return x.view(n, rows // m, m, *shape).reshape(n, rows // m, m * shape[0], *shape[1:])",
         (REF,)),
    Slip("simultaneous update: D applied before G's gradient", "ganlab/training/schedules.py",
         "    if t.trains_generator:\n        params_d = t.unrolled_discriminator",
         "    t.update_d(d_grads)\n    if t.trains_generator:\n        params_d = t.unrolled_discriminator",
         (REF,)),
    Slip("a diverged member keeps learning", "ganlab/training/divergence.py",
         "self.alive = self.alive & finite", "self.alive = self.alive",
         (E + "test_engine.py::test_diverged_member_is_reported_frozen_and_others_continue",)),
    Slip("one gradient-penalty alpha per batch, not per sample", "ganlab/training/regularisers/gradient_penalty.py",
         'alpha = t.streams.uniform("gp-alpha", step, sub, (real.shape[1],), real.dtype)',
         'alpha = t.streams.uniform("gp-alpha", step, sub, (1,), real.dtype).expand(-1, real.shape[1])',
         (REF,)),
    Slip("streams keyed by member position instead of seed", "ganlab/rng.py",
         "s = torch.tensor(seeds, dtype=torch.int64, device=self.device)[:, None]",
         "s = torch.arange(len(seeds), dtype=torch.int64, device=self.device)[:, None]",
         ("tests/test_rng.py", E + "test_engine.py::test_member_is_bit_identical_for_any_n")),
    Slip("running loss sums count diverged members", "ganlab/training/divergence.py",
         "ok = self.alive.to(torch.float64)", "ok = torch.ones_like(self.alive, dtype=torch.float64)",
         (E + "test_engine.py::test_diverged_member_is_reported_frozen_and_others_continue",)),
    Slip("maxout: pieces taken across units", "ganlab/models/maxout.py",
         "h.unflatten(-1, (-1, pieces))", "h.unflatten(-1, (pieces, -1))",
         (E + "test_engine.py::test_pacgan_nets_equal_the_reference_loop",)),
]

# -- the parts added through the front door (one module each): their own tests and verify rows -----------
R1, R2 = "ganlab/training/regularisers/r1.py", "ganlab/training/regularisers/r2.py"
HINGE, LS = "ganlab/training/losses/hinge.py", "ganlab/training/losses/least_squares.py"
SLIPS += [
    Slip("R1: weight γ instead of γ/2", R1,
         "return gamma / 2 * squared_gradient_norm(critic, real)", "return gamma * squared_gradient_norm(critic, real)",
         (E + "test_regulariser_r1.py",)),
    Slip("R1 penalises the generated batch", R1,
         "t.discriminate_packs(params_d, x, labels), real,", "t.discriminate_packs(params_d, x, labels), fake,",
         (E + "test_regulariser_r1.py",)),
    Slip("R2 penalises the real batch", R2,
         "t.discriminate_packs(params_d, x, labels), fake,", "t.discriminate_packs(params_d, x, labels), real,",
         (E + "test_regulariser_r2.py",)),
    Slip("hinge: real margin with the wrong sign", HINGE,
         "F.relu(1 - real_scores)", "F.relu(1 + real_scores)", (E + "test_loss_hinge.py",)),
    Slip("hinge: G loss with the wrong sign", HINGE,
         "return -per_member_mean(fake_scores)", "return per_member_mean(fake_scores)", (E + "test_loss_hinge.py",)),
    Slip("LSGAN: codes a and b swapped in D's loss", LS,
         "return discriminator_loss_least_squares(real, fake, m.lsgan_a, m.lsgan_b)",
         "return discriminator_loss_least_squares(real, fake, m.lsgan_b, m.lsgan_a)",
         (E + "test_loss_least_squares.py",), ("lsgan_optimal_discriminator",)),
    Slip("LSGAN: D* with a and b swapped", LS,
         "return a + (b - a) * torch.sigmoid(log_p_data - log_p_g)", "return b + (a - b) * torch.sigmoid(log_p_data - log_p_g)",
         (E + "test_loss_least_squares.py",), ("lsgan_optimal_discriminator",)),
]


def _copy_tree(dst: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    shutil.copytree(ROOT / "ganlab", dst / "ganlab", ignore=ignore)
    shutil.copytree(ROOT / "tests", dst / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", dst / "pyproject.toml")


def _apply(slip: Slip, root: Path) -> str | None:
    """Apply the slip in ``root``; None, or why it could not be applied."""
    path = root / slip.path
    text = path.read_text()
    count = text.count(slip.old)
    if count != 1:
        return f"stale: the snippet occurs {count} times in {slip.path}"
    path.write_text(text.replace(slip.old, slip.new))
    return None


def _run(cmd: list[str], cwd: Path, timeout: float) -> bool:
    """True when the command fails (the slip is caught)."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "OMP_NUM_THREADS": "1", "HYPOTHESIS_PROFILE": "ci"}
    try:
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout).returncode != 0
    except subprocess.TimeoutExpired:
        return True  # a slip that makes the checks hang is noticed too


def check(slip: Slip, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="ganlab-slip-") as tmp:
        root = Path(tmp)
        _copy_tree(root)
        problem = _apply(slip, root)
        if problem:
            return {"slip": slip.name, "tests": "-", "verify": "-", "caught": False, "note": problem, "seconds": 0.0}
        t0 = time.perf_counter()
        by_tests = by_verify = None
        if slip.tests:
            by_tests = _run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *slip.tests],
                            root, timeout)
        if slip.claims:
            code = ("import sys; from ganlab.verify import run_claims; "
                    f"rows = run_claims(names={list(slip.claims)!r}); "
                    "sys.exit(0 if rows and all(r.passed for r in rows) else 1)")
            by_verify = _run([sys.executable, "-c", code], root, timeout)
        caught = bool(by_tests) or bool(by_verify)
        fmt = lambda b: "-" if b is None else ("caught" if b else "missed")
        return {"slip": slip.name, "tests": fmt(by_tests), "verify": fmt(by_verify), "caught": caught, "note": "",
                "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the slips whose name contains this text")
    parser.add_argument("--list", action="store_true", help="list the slips and exit")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per command (default 600)")
    args = parser.parse_args(argv)
    slips = [s for s in SLIPS if not args.only or args.only.lower() in s.name.lower()]
    if args.list:
        for s in slips:
            print(f"{s.name}  ({s.path}; tests: {', '.join(s.tests) or '-'}; claims: {', '.join(s.claims) or '-'})")
        return 0
    if not slips:
        print(f"no slip matches {args.only!r}", file=sys.stderr)
        return 2
    rows = []
    for s in slips:
        rows.append(check(s, args.timeout))
        r = rows[-1]
        print(f"{'caught' if r['caught'] else 'ESCAPED':8s} {r['slip']} ({r['seconds']:.0f} s) {r['note']}", flush=True)
    width = max(len(r["slip"]) for r in rows)
    print(f"\n{'slip':{width}s}  {'tests':7s}  {'verify':7s}  caught  seconds")
    for r in rows:
        print(f"{r['slip']:{width}s}  {r['tests']:7s}  {r['verify']:7s}  {'yes' if r['caught'] else 'NO':6s}  "
              f"{r['seconds']:7.0f}  {r['note']}")
    escaped = [r["slip"] for r in rows if not r["caught"]]
    print(f"\n{len(rows) - len(escaped)} of {len(rows)} slips caught" + (f"; escaped: {escaped}" if escaped else ""))
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
