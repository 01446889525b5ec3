"""``ganlab sweep run|merge`` and ``ganlab figures`` under the main command: sub-commands, the old
spellings still working with one line naming the new one, booleans spelled ``--NAME`` /
``--no-NAME``, and building the parsers imports nothing heavy (every ganlab command builds every
parser)."""

import subprocess
import sys

import pytest

from ganlab import cli
from ganlab.cli import figures_command, main
from ganlab.sweep.cli import run_command

from sweep_helpers import ROOT


def test_sweep_and_figures_parse_under_the_main_command(tmp_path, capsys):
    p = cli._parser()
    args = p.parse_args(["sweep", "run", "cfg.toml", "--out", "d", "--shard", "2/3", "--threads", "1"])
    assert args.func is run_command and (args.config, args.out, args.shard, args.threads) == ("cfg.toml", "d", "2/3", 1)
    assert (args.compile, args.progress) == (False, None)  # progress: None = bars on a terminal
    args = p.parse_args(["sweep", "merge", str(tmp_path)])
    assert args.func(args) == 2 and "not a sweep folder" in capsys.readouterr().err
    args = p.parse_args(["figures", str(tmp_path), "--frames", "3", "--no-replay"])
    assert args.func is figures_command and args.frames == 3 and args.replay is False
    assert p.parse_args(["figures", str(tmp_path)]).replay is True


def test_the_old_sweep_spelling_runs_and_names_the_new_one(tmp_path, capsys):
    cfg = ROOT / "benchmarks" / "protocols" / "tiny.toml"
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "s"), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`ganlab sweep CONFIG` is spelled `ganlab sweep run CONFIG` now" in err
    assert main(["sweep", "--dry-run", "--out", str(tmp_path / "s"), str(cfg)]) == 0  # options first, as before
    assert "is spelled `ganlab sweep run CONFIG` now" in capsys.readouterr().err
    assert main(["sweep", "run", str(cfg), "--out", str(tmp_path / "s"), "--dry-run"]) == 0
    assert capsys.readouterr().err == ""  # the new spelling: no note


def test_merge_is_the_merge_command(monkeypatch, tmp_path):
    import ganlab.sweep.cli as sweep_cli

    seen = []
    monkeypatch.setattr(sweep_cli, "merge_command", lambda path: seen.append(path) or 0)
    assert main(["sweep", "merge", str(tmp_path)]) == 0 and seen == [str(tmp_path)]


def test_sweep_passes_compile_to_the_runtime(monkeypatch, tmp_path, capsys):
    """``--compile`` / ``--no-compile`` (and the old ``--compile true|false``, with a note) reach the
    cells' Runtime (a runtime option: not part of the sweep's identity); the default is off; a
    value that is no boolean is refused by the parser."""
    import ganlab.sweep.execute as execute

    seen = []

    def fake_run_shard(spec, out, shard, runtime, **kw):
        seen.append((runtime.compile, runtime.progress))
        raise OSError("stop here")  # reported by the CLI as an error: nothing is trained

    monkeypatch.setattr(execute, "run_shard", fake_run_shard)
    cfg = ROOT / "benchmarks" / "protocols" / "metz.toml"
    p = cli._parser()
    cases = (([], False), (["--compile"], True), (["--no-compile"], False), (["--compile", "true"], True),
             (["--compile=false"], False), (["--compile", "--no-compile"], False))
    for extra, expected in cases:
        args = p.parse_args(["sweep", "run", str(cfg), "--out", str(tmp_path / "s"), *extra])
        assert args.func(args) == 2 and seen[-1][0] is expected, extra
    err = capsys.readouterr().err
    assert "note: `--compile true` is spelled `--compile` now" in err
    assert "note: `--compile false` is spelled `--no-compile` now" in err
    for extra, progress in ((["--progress"], True), (["--no-progress"], False)):
        args = p.parse_args(["sweep", "run", str(cfg), "--out", str(tmp_path / "s"), *extra])
        assert args.func(args) == 2 and seen[-1][1] is progress
    for bad in (["--compile=maybe"], ["--no-compile", "true"]):
        with pytest.raises(SystemExit) as e:
            p.parse_args(["sweep", "run", str(cfg), *bad])
        assert e.value.code == 2, bad


def test_building_the_parsers_imports_no_torch():
    code = ("import sys, argparse; from ganlab.cli import add_figures_parser; "
            "from ganlab.sweep.cli import add_sweep_parser; sub = argparse.ArgumentParser().add_subparsers(); "
            "add_sweep_parser(sub); add_figures_parser(sub); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
