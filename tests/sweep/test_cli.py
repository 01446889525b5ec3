"""The parsers attach to the main ``ganlab`` command as the lead will wire them, and building
them imports nothing heavy (every ganlab command builds every parser)."""

import argparse
import subprocess
import sys

from ganlab.sweep.cli import add_figures_parser, add_sweep_parser, figures_command, sweep_command

from sweep_helpers import ROOT


def _main_parser() -> argparse.ArgumentParser:
    from ganlab import cli

    p = cli._parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    if "sweep" not in sub.choices:  # until ganlab/cli.py calls them itself
        add_sweep_parser(sub)
        add_figures_parser(sub)
    return p


def test_sweep_and_figures_parse_under_the_main_command(tmp_path, capsys):
    p = _main_parser()
    args = p.parse_args(["sweep", "cfg.toml", "--out", "d", "--shard", "2/3", "--threads", "1"])
    assert args.func is sweep_command and (args.config, args.out, args.shard, args.threads) == ("cfg.toml", "d", "2/3", 1)
    args = p.parse_args(["sweep", "merge", str(tmp_path)])
    assert args.func(args) == 2 and "not a sweep folder" in capsys.readouterr().err
    args = p.parse_args(["figures", str(tmp_path), "--frames", "3", "--no-replay"])
    assert args.func is figures_command and args.frames == 3 and args.no_replay


def test_sweep_passes_compile_to_the_runtime(monkeypatch, tmp_path):
    """``ganlab sweep … --compile true`` reaches the cells' Runtime (a runtime option: not part of the
    sweep's identity); the default is false; any other value is refused by the parser."""
    import ganlab.sweep.execute as execute

    seen = []

    def fake_run_shard(spec, out, shard, runtime, **kw):
        seen.append(runtime.compile)
        raise OSError("stop here")  # reported by the CLI as an error: nothing is trained

    monkeypatch.setattr(execute, "run_shard", fake_run_shard)
    cfg = ROOT / "benchmarks" / "protocols" / "metz.toml"
    p = _main_parser()
    for extra, expected in (([], False), (["--compile", "true"], True)):
        args = p.parse_args(["sweep", str(cfg), "--out", str(tmp_path / "s"), *extra])
        assert args.func(args) == 2 and seen[-1] is expected
    try:
        p.parse_args(["sweep", str(cfg), "--compile", "maybe"])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("--compile maybe was accepted")


def test_building_the_parsers_imports_no_torch():
    code = ("import sys, argparse; from ganlab.sweep.cli import parser; parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
