"""The ``ganlab`` command: ``ganlab verify`` and ``ganlab train``.

The parser is built when the command runs, never at import."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# flag → (field of MethodConfig, type); applied on top of the preset's or method's defaults
METHOD_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "generator_loss": ("generator_loss", str),
    "d_steps": ("d_steps", int),
    "pack": ("pack", int),
    "unroll": ("unroll", int),
    "unroll_order": ("unroll_order", str),
    "clip": ("clip", float),
    "gp_lambda": ("gp_lambda", float),
    "optimizer": ("optimizer", str),
    "lr_d": ("lr_d", float),
    "lr_g": ("lr_g", float),
    "batch": ("batch_size", int),
}
RUN_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "steps": ("steps", int),
    "noise_dim": ("noise_dim", int),
    "dtype": ("dtype", str),
    "device": ("device", str),
    "dataset_size": ("dataset_size", int),
    "eval_every": ("eval_every", int),
    "eval_samples": ("eval_samples", int),
    "checkpoint_every": ("checkpoint_every", int),
}


def _verify(args: argparse.Namespace) -> int:
    from . import verify

    if args.json and Path(args.json).exists() and not args.force:
        print(f"error: {args.json} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    results = verify.run_claims(seed=args.seed)
    print(verify.format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(verify.to_json_records(results), indent=2) + "\n")
    failed = [r.claim for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _seeds(args: argparse.Namespace, default_count: int) -> tuple[int, ...]:
    count = default_count if args.seeds is None else args.seeds
    return tuple(range(args.seed_start, args.seed_start + count))


def build_config(args: argparse.Namespace, base=None):
    """The run's TrainConfig: ``base`` (a saved config when resuming) or the preset (given the
    method when the preset takes one), then every flag the user gave."""
    from .training.presets import PRESETS, make_preset

    if base is None:
        preset = args.preset or "quick"
        kw: dict[str, Any] = {}
        if args.target is not None:
            kw["target"] = args.target
        takes_method = "method" in inspect.signature(PRESETS[preset]).parameters
        if args.method is not None:
            if not takes_method and args.method != make_preset(preset).method_name:
                raise ValueError(
                    f"preset {preset!r} fixes its method ({make_preset(preset).method_name}); change it "
                    f"with --pack, --unroll, --d-steps, ... rather than --method {args.method}"
                )
            if takes_method:
                kw["method"] = args.method
        base = make_preset(preset, **kw)
        base = dataclasses.replace(base, seeds=_seeds(args, len(base.seeds)))
    else:
        if args.preset is not None:
            raise ValueError("--preset applies to a new run; a resumed run keeps its saved configuration")
        if args.method is not None and args.method != base.method_name:
            raise ValueError(f"refusing to resume with a different configuration: method_name: saved "
                             f"{base.method_name!r}, given {args.method!r}")
        seeds = base.seeds if args.seeds is None and args.seed_start == 0 else _seeds(args, len(base.seeds))
        base = dataclasses.replace(base, target=args.target or base.target, seeds=seeds)
    grid = dict(base.grid)
    for spec in args.grid or []:
        key, _, values = spec.partition("=")
        try:
            grid[key.strip()] = tuple(float(v) for v in values.split(","))
        except ValueError:
            raise ValueError(f"--grid {spec!r}: expected FIELD=V1,V2,... with numbers") from None
    m_over = {f: getattr(args, a) for a, (f, _) in METHOD_FLAGS.items() if getattr(args, a) is not None}
    r_over = {f: getattr(args, a) for a, (f, _) in RUN_FLAGS.items() if getattr(args, a) is not None}
    return dataclasses.replace(base, method=dataclasses.replace(base.method, **m_over), grid=grid, **r_over)


def _train(args: argparse.Namespace) -> int:
    from .training import runs as train

    if (args.out is None) == (args.resume is None):
        print("error: give exactly one of --out DIR (a new run) or --resume DIR", file=sys.stderr)
        return 2
    try:
        if args.resume:
            saved = train.RunDir(args.resume).load_config()
            trainer, run = train.resume(args.resume, build_config(args, base=saved))
        else:
            trainer, run = train.start(build_config(args), args.out, command=sys.argv)
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if trainer.step >= trainer.cfg.steps:
        if not (run.path / "summary.json").exists():  # killed while writing its final results
            _print_summary(train.finish(trainer, run), run.path)
        else:
            print(f"{run.path} has already finished its {trainer.cfg.steps} steps")
        return 0
    try:
        summary = train.run(trainer, run, progress=not args.no_progress)
    except train.AllMembersDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    _print_summary(summary, run.path)
    return 0


def _print_summary(summary: dict[str, Any], path: Path) -> None:
    print(f"step {summary['step']}, results in {path}")
    for group in summary["groups"]:
        if group["hyper"]:
            print("  " + ", ".join(f"{k} = {v:g}" for k, v in group["hyper"].items()))
        for key, agg in group["aggregate"].items():
            print(f"  {key:22s} {agg['mean']:.4f} ± {agg['stderr']:.4f} (s.e., n = {agg['n']})")
    for d in summary["divergences"]:
        print(f"  diverged: member {d['member']} (seed {d['seed']}) at step {d['step']}")


def _parser() -> argparse.ArgumentParser:
    from .training.methods import METHODS
    from .training.presets import PRESETS
    from .theory.targets import TARGETS

    p = argparse.ArgumentParser(prog="ganlab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="check every theory claim on named toy pairs")
    v.add_argument("--json", metavar="PATH", help="also write the table as a JSON list")
    v.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    v.add_argument("--seed", type=int, default=0)
    v.set_defaults(func=_verify)

    t = sub.add_parser("train", help="train GANs (one per seed) on a toy target")
    t.add_argument("--preset", choices=sorted(PRESETS), help="protocol to start from (default quick)")
    t.add_argument("--target", choices=sorted(TARGETS))
    t.add_argument("--method", choices=sorted(METHODS))
    t.add_argument("--seeds", type=int, help="number of seeds (independent GANs)")
    t.add_argument("--seed-start", type=int, default=0)
    t.add_argument("--out", help="new output folder (must not exist or be empty)")
    t.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--grid", action="append", metavar="FIELD=V1,V2",
                   help="train every seed at each value too (fields: lr_d, lr_g, gp_lambda, clip); repeatable")
    for a, (_, conv) in {**METHOD_FLAGS, **RUN_FLAGS}.items():
        t.add_argument("--" + a.replace("_", "-"), dest=a, type=conv)
    t.set_defaults(func=_train)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
