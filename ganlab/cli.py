"""The ``ganlab`` command: ``ganlab verify`` and ``ganlab train``.

``train``'s flags are derived from the configuration dataclasses' fields (their metadata holds
the help text and allowed values): a new method field, regulariser weight or runtime option gets
its flag without editing this file. The parser is built when the command runs, never at import.

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
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

# the exit codes of every subcommand (the table above; docs/guide/exit_codes.md shows it)
EXIT_CLAIM_FAILED, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INCOMPLETE, EXIT_MACHINE, EXIT_INTERRUPTED = 1, 2, 3, 4, 5, 130
MAX_MEMBERS = 100_000  # refused before anything is built; the memory estimate refuses most runs below it
# argparse reads "-1e-3" as an option unless told that such strings are numbers
_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._negative_number_matcher = _NUMBER


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ganlab")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- flags from dataclass fields ---------------------------------------------------------------------
def _bool(text: str) -> bool:
    t = text.lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _optional_float(text: str) -> float | None:
    return None if text.lower() in ("none", "off") else float(text)


def _optional_int(text: str) -> int | None:
    return None if text.lower() == "none" else int(text)


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _pair(text: str) -> tuple[float, float]:
    parts = [float(v) for v in text.split(",")]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected two numbers A,B, got {text!r}")
    return parts[0], parts[1]


def _converter(tp: Any):
    """An argparse type for a dataclass field's annotation."""
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        inner = args[0]
        return _optional_float if inner is float else _optional_int if inner is int else str
    if tp is bool:
        return _bool
    if tp is int:
        return int
    if tp is float:
        return float
    if origin is tuple and args and args[0] is float:
        return _pair
    if origin is tuple and args and args[0] is int:
        return lambda text: tuple(int(v) for v in text.split(",") if v.strip())
    if origin is tuple:
        return _names
    return str


def _flag_fields(cls) -> list[tuple[str, dataclasses.Field, Any]]:
    """(flag name, field, converter) for every field of ``cls`` that has help metadata."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata or hints[f.name] is dict or typing.get_origin(hints[f.name]) is dict:
            continue
        out.append((f.metadata.get("flag") or f.name, f, _converter(hints[f.name])))
    return out


def _spec_fields() -> dict[str, tuple[dataclasses.Field, Any]]:
    """Fields of every registered model spec, by name (for --g-NAME and --d-NAME)."""
    from .models import MODELS

    out: dict[str, tuple[dataclasses.Field, Any]] = {}
    for kind in MODELS.values():
        hints = typing.get_type_hints(kind.spec)
        for f in dataclasses.fields(kind.spec):
            out.setdefault(f.name, (f, _converter(hints[f.name])))
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
            grid[key] = tuple(float(v) for v in values.split(","))
        except ValueError:
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

    over = _overrides(args, Runtime)
    if args.no_progress:
        over["progress"] = False
    return Runtime(**over)


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


def _add_train_flags(t: argparse.ArgumentParser) -> None:
    from .training.config import Runtime, TrainConfig
    from .training.methods import METHODS, MethodConfig, grid_fields
    from .training.presets import PRESETS, make_preset
    from .data.images import DATASETS
    from .theory.targets import TARGETS

    quick = make_preset("quick")
    t.add_argument("--preset", choices=sorted(PRESETS), help="protocol to start from (default quick)")
    t.add_argument("--target", choices=sorted([n for n in TARGETS if n != "mixture"] + list(DATASETS)),
                   help=f"the data: a toy target or an image data set (default from the preset; quick: {quick.target})")
    t.add_argument("--method", choices=sorted(METHODS), help="method of the quick preset (default nonsaturating)")
    t.add_argument("--seeds", type=int, help=f"number of seeds, i.e. independent GANs (default from the preset; "
                                             f"quick: {len(quick.seeds)})")
    t.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    t.add_argument("--out", help="new output folder (must not exist, or be empty)")
    t.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last intact checkpoint; "
                                                   "--steps may extend it")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--grid", action="append", metavar="FIELD=V1,V2",
                   help=f"train every seed at each value too (fields: {', '.join(grid_fields())}); one --grid "
                        "per field")
    groups = ((MethodConfig, quick.method, "from the preset; quick"), (TrainConfig, quick, "from the preset; quick"),
              (Runtime, Runtime(), ""))
    for cls, obj, where in groups:
        for flag, f, conv in _flag_fields(cls):
            if flag in ("target", "progress"):  # --target above; --no-progress
                continue
            default = getattr(obj, f.name)
            t.add_argument("--" + flag.replace("_", "-"), dest="x_" + flag, type=conv, metavar=flag.upper(),
                           default=argparse.SUPPRESS,
                           help=_help(f, default, where))
    for name, (f, conv) in _spec_fields().items():
        for prefix, role in (("g", "generator"), ("d", "discriminator")):
            t.add_argument(f"--{prefix}-{name.replace('_', '-')}", dest=f"{prefix}_{name}", type=conv,
                           metavar=name.upper(), help=f"the {role} net's {name.replace('_', ' ')} "
                                                      f"(default from the preset; quick: "
                                                      f"{_fmt_default(getattr(quick.generator, name, None))})")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ganlab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"ganlab {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

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

    from .sweep.cli import add_figures_parser, add_sweep_parser

    add_sweep_parser(sub)
    add_figures_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    return dispatch(_parser().parse_args(argv), argv)


def dispatch(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Run the parsed command; a Ctrl-C that reaches here is one line and exit 130 (``argv`` None:
    a real process, which ignores further signals while it exits)."""
    try:
        return args.func(args)
    except KeyboardInterrupt:  # (train and sweep save their run first and say what was saved)
        print(f"interrupted: ganlab {args.command} stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if argv is None:  # a process leaving: a late Ctrl-C must not become a traceback while it exits
            import signal

            try:
                for s in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(s, signal.SIG_IGN)
            except ValueError:  # (not the main thread: nothing to protect)
                pass


if __name__ == "__main__":
    sys.exit(main())
