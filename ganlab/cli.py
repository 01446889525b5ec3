"""The ``ganlab`` command: ``ganlab verify``, ``ganlab train``, ``ganlab sweep run|merge`` and
``ganlab figures``.

``train``'s flags are derived from the configuration dataclasses' fields (their metadata holds
the help text and allowed values): a new method field, regulariser weight or runtime option gets
its flag without editing this file; ``train --help`` shows them in groups. Booleans are spelled
one way, ``--NAME`` / ``--no-NAME``. The parser is built when the command runs, never at import.

Exit status (every subcommand; one line on stderr says why):
  0    done
  1    a verify claim failed; a sweep cell failed (e.g. its folder is in use by another process)
  2    bad input, named, before any work (a bad value, an unusable or unwritable output path)
  3    every member of a run diverged (metrics, a checkpoint and summary.json are on disk)
  4    a sweep merge whose table is incomplete (missing, unfinished or damaged cells are listed)
  5    the machine failed during the work: disk full, file size limit, out of memory, an output
       made unwritable (what was saved, and how to resume, is said)
  130  interrupted by Ctrl-C or SIGTERM (what was saved, and how to resume, is said)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import typing
from pathlib import Path
from typing import Any

from .coerce import CoercionError, from_text
from .command_line import (  # noqa: F401  (the exit codes, re-exported: scripts and tests import them from here)
    EXIT_BAD_INPUT, EXIT_CLAIM_FAILED, EXIT_DIVERGED, EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_MACHINE, Parser,
    boolean_flag, dispatch, error_exit)

MAX_MEMBERS = 100_000  # refused before anything is built; the memory estimate refuses most runs below it


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ganlab")
    except metadata.PackageNotFoundError:
        return "0+unknown"  # as ganlab.__version__ says it


# -- flags from dataclass fields ---------------------------------------------------------------------
def _converter(tp: Any):
    """An argparse type for a dataclass field's annotation (``coerce.from_text``, the one coercion)."""
    def convert(text: str) -> Any:
        try:
            return from_text(text, tp)
        except CoercionError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = getattr(tp, "__name__", "value")  # (argparse names it in "invalid ... value")
    return convert


def _flag_fields(cls) -> list[tuple[str, dataclasses.Field, Any]]:
    """(flag name, field, converter) for every field of ``cls`` that has help metadata."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata or hints[f.name] is dict or typing.get_origin(hints[f.name]) is dict:
            continue
        out.append((f.metadata.get("flag") or f.name, f, _converter(hints[f.name])))
    return out


def _spec_fields() -> dict[str, tuple[dataclasses.Field, Any, bool]]:
    """Fields of every registered model spec, by name (for --g-NAME and --d-NAME): (field, converter,
    whether it is a boolean)."""
    from .models import MODELS

    out: dict[str, tuple[dataclasses.Field, Any, bool]] = {}
    for kind in MODELS.values():
        hints = typing.get_type_hints(kind.spec)
        for f in dataclasses.fields(kind.spec):
            out.setdefault(f.name, (f, _converter(hints[f.name]), hints[f.name] is bool))
    return out


def _fmt_default(v: Any) -> str:
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v) if v else "none"
    return "none" if v is None else str(v)


def _help(f: dataclasses.Field, default: Any, where: str) -> str:
    text = f.metadata.get("help", f.name.replace("_", " "))
    choices = f.metadata.get("choices")
    extra = f"; one of {', '.join(choices)}" if choices else ""
    return f"{text}{extra} (default{' ' + where if where else ''}: {_fmt_default(default)})"


# -- verify ----------------------------------------------------------------------------------------------
def _verify(args: argparse.Namespace) -> int:
    import json

    from . import verify
    from .training.rundir import atomic_write
    from .validation import check_output_file

    try:
        if args.seed < 0:
            raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
        if args.json:
            check_output_file(args.json, "--json", force=args.force)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # a full disk or an I/O error while checking the folder
        print(f"error: --json {args.json}: {e}", file=sys.stderr)
        return EXIT_MACHINE
    kinds = None if args.kind == "all" else (args.kind,)

    def progress(name: str, index: int, total: int) -> None:
        if not args.quiet:
            print(f"[{index + 1}/{total}] {name}", file=sys.stderr, flush=True)

    results = verify.run_claims(seed=args.seed, kinds=kinds, progress=progress, budget=args.budget)
    print(verify.format_table(results))
    failed = [r for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed")
    if args.json:
        try:
            atomic_write(Path(args.json), (json.dumps(verify.to_json_records(results), indent=2) + "\n").encode())
        except OSError as e:  # checked before the claims ran: the machine changed (disk full, ...)
            print(f"error: writing --json {args.json} failed: {e} (the table above is complete)", file=sys.stderr)
            return EXIT_MACHINE
    return EXIT_CLAIM_FAILED if failed else 0


# -- train -------------------------------------------------------------------------------------------------
def _seeds(args: argparse.Namespace, default_count: int) -> tuple[int, ...]:
    count = default_count if args.seeds is None else args.seeds
    if count < 1:
        raise ValueError(f"--seeds must be at least 1, got {count}")
    if args.seed_start < 0:
        raise ValueError(f"--seed-start must be a non-negative integer, got {args.seed_start}")
    return tuple(range(args.seed_start, args.seed_start + count))


def _grid(specs: list[str] | None) -> dict[str, tuple[float, ...]]:
    grid: dict[str, tuple[float, ...]] = {}
    for spec in specs or []:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--grid {spec!r}: expected FIELD=V1,V2,...")
        if key in grid:
            raise ValueError(f"--grid {key} is given twice; list every value in one --grid {key}=V1,V2,...")
        try:
            if not all(v.strip() for v in values.split(",")):
                raise CoercionError("an empty value")
            grid[key] = from_text(values, tuple[float, ...])
        except CoercionError:
            raise ValueError(f"--grid {spec!r}: expected FIELD=V1,V2,... with numbers") from None
    return grid


def _overrides(args: argparse.Namespace, cls) -> dict[str, Any]:
    # a flag not given leaves no attribute (argparse.SUPPRESS), so that "--clip none" sets None
    return {f.name: getattr(args, "x_" + flag) for flag, f, _ in _flag_fields(cls) if hasattr(args, "x_" + flag)}


def _spec_overrides(args: argparse.Namespace, spec: Any, prefix: str) -> Any:
    over = {name: getattr(args, f"{prefix}_{name}") for name in _spec_fields()
            if getattr(args, f"{prefix}_{name}", None) is not None}
    known = {f.name for f in dataclasses.fields(spec)}
    bad = sorted(set(over) - known)
    if bad:
        raise ValueError(f"--{prefix}-{bad[0].replace('_', '-')} does not apply to a {type(spec).__name__}")
    return dataclasses.replace(spec, **over) if over else spec


def build_config(args: argparse.Namespace, base=None):
    """The run's TrainConfig: ``base`` (a saved config when resuming) or the preset (given the
    method when the preset takes one), then every identity flag the user gave."""
    from .training.config import TrainConfig
    from .training.methods import MethodConfig, grid_fields
    from .training.presets import make_preset, preset_takes

    if base is None:
        preset = args.preset or "quick"
        kw: dict[str, Any] = {}
        if args.target is not None:
            kw["target"] = args.target
        takes_method = preset_takes(preset, "method")
        if args.method is not None:
            if not takes_method:
                raise ValueError(f"preset {preset!r} fixes its method; change it with --pack, --unroll, "
                                 f"--d-steps, ... rather than --method {args.method}")
            kw["method"] = args.method
        if getattr(args, "x_unroll", None) is not None and preset_takes(preset, "unroll"):
            kw["unroll"] = args.x_unroll  # the preset picks the schedule that goes with K (metz-appendix)
        base = make_preset(preset, **kw)
        count = len(base.seeds) if args.seeds is None else args.seeds
        grid = _grid(args.grid)
        n = count * max(1, _grid_size(grid))
        if n > MAX_MEMBERS:
            raise ValueError(f"{n} members (seeds × grid points) is more than {MAX_MEMBERS}; no machine holds "
                             "that many GANs in one run")
        base = dataclasses.replace(base, seeds=_seeds(args, len(base.seeds)))
    else:
        for name in ("preset", "method"):
            if getattr(args, name) is not None:
                raise ValueError(f"--{name} applies to a new run; a resumed run keeps its saved configuration")
        grid = _grid(args.grid)
        if args.seeds is not None or args.seed_start != 0:
            base = dataclasses.replace(base, seeds=_seeds(args, len(base.seeds)))
        if args.target is not None:
            base = dataclasses.replace(base, target=args.target)
    m_over = _overrides(args, MethodConfig)
    both = sorted(set(m_over) & set(grid))
    if both:
        raise ValueError(f"{both[0]} is given both as a flag and as --grid {both[0]}=...; choose one")
    for key in grid:
        if key not in grid_fields():
            raise ValueError(f"unknown grid field {key!r}; known: {', '.join(grid_fields())}")
    r_over = _overrides(args, TrainConfig)
    method = dataclasses.replace(base.method, **m_over)
    return dataclasses.replace(
        base, method=method, grid={**base.grid, **grid},
        generator=_spec_overrides(args, base.generator, "g"),
        discriminator=_spec_overrides(args, base.discriminator, "d"), **r_over)


def _grid_size(grid: dict[str, tuple[float, ...]]) -> int:
    size = 1
    for v in grid.values():
        size *= len(v)
    return size


def build_runtime(args: argparse.Namespace):
    from .training.config import Runtime

    return Runtime(**_overrides(args, Runtime))


def _train(args: argparse.Namespace) -> int:
    """Start or resume a run; under torchrun every process runs this, process 0 alone speaks."""
    import os
    import warnings

    from .training import runs
    from .validation import MACHINE_ERRNOS
    from .training.rundir import RunDir, RunFolderError

    main = int(os.environ.get("RANK", "0")) == 0
    say = (lambda *a, **kw: print(*a, **kw)) if main else (lambda *a, **kw: None)
    if (args.out is None) == (args.resume is None):
        say("error: give exactly one of --out DIR (a new run) or --resume DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        runtime = build_runtime(args)
        if args.resume:
            saved, _ = runs.load_config(RunDir(args.resume))
            expect = build_config(args, base=saved)
            session = runs.resume(args.resume, runtime, steps=expect.steps, expect=expect, command=sys.argv)
            say(f"resuming {args.resume} at step {session.trainer.step} of {session.cfg.steps}", file=sys.stderr)
        else:
            session = runs.start(build_config(args), args.out, runtime, command=sys.argv)
    except (ValueError, FileExistsError, RunFolderError, OSError, MemoryError) as e:
        machine = isinstance(e, MemoryError) or isinstance(e, OSError) and e.errno in MACHINE_ERRNOS
        say(f"error: {e if str(e) else type(e).__name__}", file=sys.stderr)
        return EXIT_MACHINE if machine else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        say("interrupted before training started; nothing was trained", file=sys.stderr)
        return EXIT_INTERRUPTED
    warnings.simplefilter("default")
    with session:
        try:
            if runs.is_finished(session):
                say(f"{session.run.path} has already finished its {session.cfg.steps} steps")
                return 0
            result = runs.run(session)
        except runs.AllMembersDiverged as e:
            say(f"error: {e}", file=sys.stderr)
            return EXIT_DIVERGED
        except runs.Interrupted as e:
            say(str(e), file=sys.stderr)
            return EXIT_INTERRUPTED
        except runs.MachineFailed as e:
            say(f"error: {e}", file=sys.stderr)
            return EXIT_MACHINE
    if main:
        _print_summary(result, session.run.path)
    return 0


def _print_summary(summary: dict[str, Any], path: Path) -> None:
    print(f"{summary['label']}: step {summary['step']}, results in {path}")
    for group in summary["groups"]:
        if group["hyper"]:
            print("  " + ", ".join(f"{k} = {v:g}" for k, v in group["hyper"].items()))
        agg_all = group["aggregate"]
        for key, agg in agg_all.items():
            own_se = agg_all.get(key + "_se")
            if key.endswith("_se") and key[:-3] in agg_all:
                continue  # printed with its value
            if own_se is not None and agg["std"] == 0:  # one value for the whole run (w1_floor)
                print(f"  {key:22s} {agg['mean']:.4f} ± {own_se['mean']:.4f} (s.e. of the estimate, the same for "
                      "every member)")
            else:
                print(f"  {key:22s} {agg['mean']:.4f} ± {agg['stderr']:.4f} (s.e. over members, n = {agg['n']})")
    for d in summary["divergences"]:
        print(f"  diverged: member {d['member']} (seed {d['seed']}) at step {d['step']}")


# the help groups of ``train``'s flags; a field not named here goes to its class's group
TRAIN_GROUPS = {
    "run": "what to run and where: a preset, seeds, a grid, the output folder",
    "method": "method (losses, update schedule, regularisers, optimizer, learning rates)",
    "networks": "networks (G's input noise; --g-… / --d-… set a field of the generator's / discriminator's spec)",
    "data": "data",
    "evaluation": "evaluation (metrics during and after training)",
    "runtime": "runtime (how it is computed; may change on resume)",
}
_FIELD_GROUP = {"dataset_size": "data", "fixed_generator": "data", "classes": "data", "data_dir": "data",
                "noise_dim": "networks", "noise": "networks", "steps": "run",
                "eval_every": "evaluation", "eval_at": "evaluation", "eval_samples": "evaluation", "final_samples": "evaluation",
                "evaluators": "evaluation", "final_evaluators": "evaluation", "snapshots": "evaluation"}


def _metavar(flag: str, f: dataclasses.Field) -> str:
    choices = f.metadata.get("choices")
    return "{" + ",".join(choices) + "}" if choices else flag.upper()


def _add_train_flags(t: argparse.ArgumentParser) -> None:
    from .training.config import Runtime, TrainConfig
    from .training.methods import METHODS, MethodConfig, grid_fields
    from .training.presets import PRESETS, make_preset
    from .data.images import DATASETS
    from .theory.targets import TARGETS

    quick = make_preset("quick")
    g = {name: t.add_argument_group(title) for name, title in TRAIN_GROUPS.items()}
    g["run"].add_argument("--preset", choices=sorted(PRESETS), help="protocol to start from (default quick)")
    g["run"].add_argument("--seeds", type=int, help=f"number of seeds, i.e. independent GANs (default from the preset; "
                                                    f"quick: {len(quick.seeds)})")
    g["run"].add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    g["run"].add_argument("--grid", action="append", metavar="FIELD=V1,V2",
                          help=f"train every seed at each value too (fields: {', '.join(grid_fields())}); one --grid "
                               "per field")
    g["run"].add_argument("--out", help="new output folder (must not exist, or be empty)")
    g["run"].add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last intact checkpoint; "
                                                          "--steps may extend it")
    g["method"].add_argument("--method", choices=sorted(METHODS),
                             help="method of the quick preset (default nonsaturating)")
    g["data"].add_argument("--target", choices=sorted([n for n in TARGETS if n != "mixture"] + list(DATASETS)),
                           help=f"the data: a toy target or an image data set (default from the preset; quick: "
                                f"{quick.target})")
    preset = "from the preset; quick"
    for cls, obj, where, home in ((MethodConfig, quick.method, preset, "method"), (TrainConfig, quick, preset, "method"),
                                  (Runtime, Runtime(), "", "runtime")):
        hints = typing.get_type_hints(cls)
        for flag, f, conv in _flag_fields(cls):
            if flag == "target":  # above, with its choices
                continue
            group = g[_FIELD_GROUP.get(f.name, home)]
            default = getattr(obj, f.name)
            if hints[f.name] is bool:
                boolean_flag(group, "--" + flag.replace("_", "-"), dest="x_" + flag, default=argparse.SUPPRESS,
                             help=_help(f, "on" if default else "off", where))
                continue
            group.add_argument("--" + flag.replace("_", "-"), dest="x_" + flag, type=conv,
                               metavar=_metavar(flag, f), default=argparse.SUPPRESS, help=_help(f, default, where))
    for name, (f, conv, is_bool) in _spec_fields().items():
        for prefix, role in (("g", "generator"), ("d", "discriminator")):
            default = getattr(quick.generator if prefix == "g" else quick.discriminator, name, None)
            text = (f"the {role} net's {name.replace('_', ' ')} (default from the preset; quick: "
                    f"{_fmt_default(('on' if default else 'off') if is_bool and default is not None else default)})")
            add = (functools.partial(boolean_flag, g["networks"]) if is_bool
                   else functools.partial(g["networks"].add_argument, type=conv, metavar=_metavar(name, f)))
            add(f"--{prefix}-{name.replace('_', '-')}", dest=f"{prefix}_{name}", help=text)


# -- figures ---------------------------------------------------------------------------------------------------
def add_figures_parser(subparsers) -> argparse.ArgumentParser:
    f = subparsers.add_parser(
        "figures", help="draw the figures of a sweep or run folder (PNG, PDF, and an animated GIF)",
        description="Final samples over the target density, modes captured and high-quality share per method "
                    "(published values marked), metrics against the step, and snapshots and an animated GIF of "
                    "one run, replayed from its config (one member retrained alone; checked against its final "
                    "samples).")
    f.add_argument("path", metavar="RUN_OR_SWEEP_DIR")
    f.add_argument("--out", metavar="DIR", help="where the figures go (default RUN_OR_SWEEP_DIR/figures)")
    f.add_argument("--cell", help="the sweep cell to replay (a folder name under cells/; default the first)")
    f.add_argument("--seed", type=int, help="the seed to replay (default the run's first)")
    f.add_argument("--frames", type=int, default=24, help="frames of the GIF (default 24)")
    f.add_argument("--until", type=int, metavar="STEP", help="replay only up to STEP (long runs; default all)")
    boolean_flag(f, "--replay", default=True,
                 help="retrain one member for the snapshots and the GIF (default on; --no-replay skips them)")
    f.set_defaults(func=figures_command)
    return f


def figures_command(args: argparse.Namespace) -> int:
    import torch

    from .plots.folders import FigureError, make_figures
    from .sweep.folder import SweepFolderError
    from .training.rundir import RunFolderError
    from .validation import check_output_folder

    torch.set_num_threads(1)
    try:
        if args.out is not None or Path(args.path).is_dir():  # before anything is loaded or retrained
            check_output_folder(args.out if args.out is not None else str(Path(args.path) / "figures"), "--out")
        if args.frames < 2:
            raise ValueError(f"--frames must be at least 2, got {args.frames}")
        if args.until is not None and args.until < 1:
            raise ValueError(f"--until must be at least 1, got {args.until}")
        paths = make_figures(args.path, args.out, cell=args.cell, seed=args.seed, frames=args.frames,
                             until=args.until, replay_run=args.replay,
                             log=lambda line: print(line, file=sys.stderr, flush=True))
    except (FigureError, SweepFolderError, RunFolderError, ValueError, OSError) as e:
        return error_exit(e)
    for p in paths:
        print(p)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="ganlab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"ganlab {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    v = sub.add_parser("verify", help="check every theory claim on named toy pairs")
    v.add_argument("--json", metavar="PATH", help="also write the rows as a JSON list")
    v.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    v.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    v.add_argument("--kind", choices=("all", "exact", "trained"), default="all",
                   help="which claims: exact (closed forms, quadrature, LP, Monte Carlo; seconds) or trained "
                        "(networks trained by gradient descent) (default all)")
    v.add_argument("--budget", choices=("short", "long"), default="short",
                   help="how long the trained claims train: short (the whole command within minutes on a "
                        "2-core CPU) or long (more steps, seeds and samples; tens of minutes) (default short)")
    v.add_argument("--quiet", action="store_true", help="no progress lines")
    v.set_defaults(func=_verify)

    t = sub.add_parser("train", help="train GANs (one per seed and grid point) as one batched run")
    _add_train_flags(t)
    t.set_defaults(func=_train)

    from .sweep.cli import add_sweep_parser

    add_sweep_parser(sub)
    add_figures_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from .sweep.cli import legacy_argv

    return dispatch(_parser().parse_args(legacy_argv(sys.argv[1:] if argv is None else list(argv))), argv)


if __name__ == "__main__":
    sys.exit(main())
