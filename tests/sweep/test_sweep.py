"""Sweeps end to end at a tiny budget: sharded equals unsharded, a killed shard resumes
bit-identically, an incomplete merge names what is missing, foreign folders are refused."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab.cli import main
from ganlab.sweep.folder import SWEEP_JSON

from sweep_helpers import ROOT, spec_text


def _tables(d: Path) -> tuple[str, str, dict]:
    js = json.loads((d / "table.json").read_text())
    js.pop("generated"), js.pop("timing")
    return (d / "table.md").read_text(), (d / "table.csv").read_text(), js


def _final_state(run: Path) -> dict:
    return torch.load(sorted((run / "checkpoints").glob("step_*.pt"))[-1], weights_only=True)


def _same_run(a: Path, b: Path) -> None:
    """Weights, optimizer state, metrics, samples and summary identical bit for bit."""
    sa, sb = _final_state(a), _final_state(b)
    assert sa["step"] == sb["step"]
    for part in ("params_g", "params_d"):
        for k in sa[part]:
            assert torch.equal(sa[part][k], sb[part][k]), (part, k)
    for x, y in zip(sa["opt_d"]["exp_avg_sq"], sb["opt_d"]["exp_avg_sq"]):
        assert torch.equal(x, y)
    assert (a / "metrics.jsonl").read_text() == (b / "metrics.jsonl").read_text()
    assert np.array_equal(np.load(a / "samples.npz")["samples"], np.load(b / "samples.npz")["samples"])
    ja, jb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    ja.pop("updated"), jb.pop("updated")
    assert ja == jb


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The test spec run unsharded, once for the module."""
    d = tmp_path_factory.mktemp("whole")
    cfg = d / "sweep.toml"
    cfg.write_text(spec_text())
    torch.set_num_threads(1)
    assert main(["sweep", "run", str(cfg), "--out", str(d / "out"), "--no-progress"]) == 0
    return d / "out"


def test_three_shards_merged_give_the_unsharded_table(whole, tmp_path, spec_file, capsys):
    cfg, out = spec_file(), tmp_path / "sharded"
    for i in (3, 1, 2):  # any order: shards never talk to each other
        assert main(["sweep", "run", str(cfg), "--out", str(out), "--shard", f"{i}/3", "--no-progress"]) == 0
    assert main(["sweep", "merge", str(out)]) == 0
    assert _tables(out) == _tables(whole)
    table = json.loads((whole / "table.json").read_text())
    assert table["complete"] and table["cells_done"] == 4 and len(table["rows"]) == 6
    assert [(r["target"], r["method"], r["hyper"]) for r in table["rows"]][:3] == [
        ("ring8", "nonsaturating", {}), ("ring8", "packed m=2 (nonsaturating)", {"lr_d": 0.001}),
        ("ring8", "packed m=2 (nonsaturating)", {"lr_d": 0.002})]
    for cell in sorted((whole / "cells").iterdir()):
        _same_run(cell, out / "cells" / cell.name)
    # each shard process trained exactly its own cells
    ran = {}
    for f in (out / "shards").glob("*/*.json"):
        rec = json.loads(f.read_text())
        ran[rec["shard"]] = sorted(rec["results"])
    assert ran == {"1/3": ["grid25__packed-m-2-nonsaturating", "ring8__nonsaturating"],
                   "2/3": ["grid25__nonsaturating"], "3/3": ["ring8__packed-m-2-nonsaturating"]}


def test_table_rows_are_the_cells_summaries(whole):
    """mean ± s.e. and n in the table are the cell's own aggregate (high-quality share in %)."""
    table = json.loads((whole / "table.json").read_text())
    summary = json.loads((whole / "cells" / "grid25__packed-m-2-nonsaturating" / "summary.json").read_text())
    rows = [r for r in table["rows"] if r["cell"] == "grid25__packed-m-2-nonsaturating"]
    for row, group in zip(rows, summary["groups"]):
        assert row["hyper"] == group["hyper"] and row["n_diverged"] == group["n_diverged"]
        for key, scale, name in (("w1", 1, "w1"), ("high_quality_pct", 100, "high_quality_fraction")):
            agg = group["aggregate"][name]
            assert row["metrics"][key] == pytest.approx({"mean": scale * agg["mean"], "se": scale * agg["stderr"],
                                                         "n": agg["n"]})
    members = [m["w1"] for m in summary["members"] if m["lr_d"] == 0.001]
    assert rows[0]["metrics"]["w1"]["mean"] == pytest.approx(np.mean(members))
    md = (whole / "table.md").read_text()
    assert "**Complete**: all 4 cells finished." in md and "Lin et al. 2018 (PacGAN), Table 1: PacGAN2" in md


def test_rerunning_a_finished_sweep_skips_every_cell(whole, tmp_path, capsys):
    out = tmp_path / "again"
    shutil.copytree(whole, out)
    before = {p: p.read_bytes() for p in (out / "cells").rglob("*") if p.is_file() and p.name != ".lock"}
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(spec_text())
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    assert capsys.readouterr().err.count("skipped") == 4
    after = {p: p.read_bytes() for p in before}
    assert after == before


def test_merge_of_an_incomplete_sweep_names_the_missing_cells_by_shard(tmp_path, spec_file, capsys):
    cfg, out = spec_file(), tmp_path / "part"
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--shard", "2/3", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["sweep", "merge", str(out)]) == 4
    captured = capsys.readouterr()
    assert "3 of 4 cells missing or unfinished" in captured.err
    assert "cell 0 `ring8__nonsaturating` (nonsaturating on ring8): never started; shard 1/3" in captured.err
    assert "cell 2 `ring8__packed-m-2-nonsaturating` (packed m=2 (nonsaturating) on ring8): never started; " \
           "shard 3/3" in captured.err
    assert "grid25__nonsaturating`" not in captured.err
    md = (out / "table.md").read_text()
    assert "**INCOMPLETE: 1 of 4 cells finished. This is not the sweep's table**" in md and "Complete" not in md
    table = json.loads((out / "table.json").read_text())
    assert not table["complete"] and [m["shard"] for m in table["missing"]] == ["1/3", "3/3", "1/3"]


def _shard_process(cfg: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "ganlab", "sweep", "run", str(cfg), "--out", str(out), "--no-progress",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def test_a_killed_shard_rerun_finishes_bit_identically(tmp_path, capsys):
    """SIGKILL a shard process inside its first cell after two checkpoints; the merge then names
    the cell as unfinished; rerunning the same shard resumes it, trains the next cell, and every
    cell ends identical to an uninterrupted sweep's."""
    text = (spec_text(steps=200).replace('targets = ["ring8", "grid25"]', 'targets = ["ring8"]')
            .replace("eval_every = 10", "eval_every = 50").replace('evaluators = ["modes", "w1"]', ""))
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(text)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    victim = _shard_process(cfg, cut, "--checkpoint-every", "50")
    first = cut / "cells" / "ring8__nonsaturating" / "checkpoints"
    deadline = time.time() + 120
    while not any(int(p.stem[5:]) >= 100 for p in first.glob("step_*.sha256")):
        assert victim.poll() is None, victim.stdout.read().decode()
        assert time.time() < deadline
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert main(["sweep", "run", str(cfg), "--out", str(whole), "--checkpoint-every", "50", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["sweep", "merge", str(cut)]) == 4
    err = capsys.readouterr().err
    where = re.search(r"ring8__nonsaturating` \(nonsaturating on ring8\): unfinished at step ([\d,]+) of 200", err)
    assert where and int(where.group(1).replace(",", "")) >= 100, err  # its last checkpoint, not its start
    assert main(["sweep", "run", str(cfg), "--out", str(cut), "--checkpoint-every", "50", "--no-progress"]) == 0
    assert "cell 0 ring8__nonsaturating: resuming at step" in capsys.readouterr().err
    for cell in sorted((whole / "cells").iterdir()):
        _same_run(cell, cut / "cells" / cell.name)
    assert _tables(cut) == _tables(whole)


def test_a_cell_killed_while_its_folder_was_created_is_restarted(tmp_path, spec_file, capsys):
    """A kill between RunDir.create's mkdir and its config.json leaves checkpoints/ and .lock:
    the shard clears exactly that and starts the cell; anything more is refused, untouched."""
    cfg, out = spec_file(), tmp_path / "out"
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--shard", "5/5", "--no-progress"]) == 0  # owns no cell
    stub = out / "cells" / "ring8__nonsaturating"
    (stub / "checkpoints").mkdir(parents=True)
    (stub / ".lock").write_text("123")
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--shard", "1/5", "--no-progress"]) == 0
    assert json.loads((stub / "summary.json").read_text())["status"] == "finished"
    junk = out / "cells" / "grid25__nonsaturating"
    (junk / "checkpoints").mkdir(parents=True)
    (junk / "mine.txt").write_text("keep")
    capsys.readouterr()
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--shard", "2/5", "--no-progress"]) == 2
    assert "is neither a run folder nor empty" in capsys.readouterr().err
    assert (junk / "mine.txt").read_text() == "keep"


# -- foreign, edited and occupied folders -----------------------------------------------------------------
def test_merge_refuses_a_folder_that_is_not_a_sweep(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["sweep", "merge", str(tmp_path / "empty")]) == 2
    assert "is not a sweep folder (no sweep.json)" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    assert main(["sweep", "merge", str(run)]) == 2
    assert "is a run folder (ganlab train), not a sweep folder" in capsys.readouterr().err


def test_merge_refuses_an_edited_sweep_record(whole, tmp_path, capsys):
    out = tmp_path / "edited"
    shutil.copytree(whole, out)
    record = json.loads((out / SWEEP_JSON).read_text())
    record["cells"][0]["label"] = "better"
    (out / SWEEP_JSON).write_text(json.dumps(record))
    assert main(["sweep", "merge", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was edited after the sweep was created" in err and err.count("\n") == 1


def test_merge_refuses_foreign_cell_folders(whole, tmp_path, capsys):
    out = tmp_path / "foreign"
    shutil.copytree(whole, out)
    shutil.copytree(out / "cells" / "ring8__nonsaturating", out / "cells" / "somebody-elses-run")
    assert main(["sweep", "merge", str(out)]) == 2
    assert "not cells of this sweep: somebody-elses-run" in capsys.readouterr().err
    shutil.rmtree(out / "cells" / "somebody-elses-run")
    # a cell folder holding another configuration's run (here: the other target's)
    shutil.rmtree(out / "cells" / "ring8__nonsaturating")
    shutil.copytree(out / "cells" / "grid25__nonsaturating", out / "cells" / "ring8__nonsaturating")
    assert main(["sweep", "merge", str(out)]) == 2
    assert "holds a run of another configuration" in capsys.readouterr().err


def test_a_changed_spec_is_refused_in_an_existing_sweep_folder(whole, tmp_path, capsys):
    out = tmp_path / "changed"
    shutil.copytree(whole, out)
    cfg = tmp_path / "changed.toml"
    cfg.write_text(spec_text().replace("seeds = 2", "seeds = 3"))
    before = sorted(p.name for p in (out / "cells").iterdir())
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds another sweep (stored vs given:" in err and "seeds: [0, 1] vs [0, 1, 2]" in err
    assert sorted(p.name for p in (out / "cells").iterdir()) == before


def test_a_sweep_never_writes_into_a_foreign_folder(tmp_path, spec_file, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert main(["sweep", "run", str(spec_file()), "--out", str(out)]) == 2
    assert "exists and is not a sweep folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "my notes"


def test_a_cell_in_use_is_reported_and_the_others_go_on(tmp_path, spec_file, capsys):
    from ganlab.training.rundir import RunDir

    cfg, out = spec_file(), tmp_path / "busy"
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--shard", "2/2", "--no-progress"]) == 0
    cell = out / "cells" / "grid25__nonsaturating"
    cfg_json = json.loads((cell / "summary.json").read_text())
    cfg_json["status"] = "running"  # make it look unfinished, then hold its lock
    (cell / "summary.json").write_text(json.dumps(cfg_json))
    capsys.readouterr()
    with RunDir.open(cell):
        assert main(["sweep", "run", str(cfg), "--out", str(out), "--shard", "2/2", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "failed: grid25__nonsaturating: run folder" in err and "in use by another ganlab process" in err
    assert "cell 3 grid25__packed-m-2-nonsaturating: already finished, skipped" in err


def test_merge_arguments_are_checked(tmp_path, capsys):
    """``sweep merge`` takes DIR alone and ``sweep run`` one CONFIG: anything else is refused by the
    parser (exit 2, one usage line naming it)."""
    for argv, says in ((["sweep", "merge"], "required: DIR"),
                       (["sweep", "merge", str(tmp_path), "--shard", "1/2"], "unrecognized arguments: --shard"),
                       (["sweep", "run", "x.toml", str(tmp_path)], f"unrecognized arguments: {tmp_path}")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and says in capsys.readouterr().err, argv


def test_a_grid_member_replayed_alone_reproduces_the_cell(whole):
    """figures.replay trains one member alone with its grid point's values; its final samples
    equal that member's in the batched cell (the engine's per-member independence)."""
    from ganlab.plots import folders as figures

    entry = figures._entry(whole / "cells" / "grid25__packed-m-2-nonsaturating")
    r = figures.replay(entry, member=3, frames=2)
    assert r.hyper == {"lr_d": 0.002} and r.seed == 1 and r.matches_run


def test_memory_is_checked_for_every_cell_before_any_training(tmp_path, spec_file, capsys):
    """The second variant cannot fit: refused with the memory estimate's one line before the
    first cell trains."""
    cfg = spec_file(spec_text().replace('method = "packed"', 'method = "packed"\nbatch_size = 100000000'))
    assert main(["sweep", "run", str(cfg), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "needs more memory than there is" in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "cells").exists()


def test_ctrl_c_checkpoints_the_cell_and_exits_130(tmp_path, spec_file, capsys):
    import threading

    cfg, out = spec_file(spec_text(steps=100000)), tmp_path / "out"
    ckpts = out / "cells" / "ring8__nonsaturating" / "checkpoints"

    def interrupt() -> None:
        deadline = time.time() + 60
        while not list(ckpts.glob("step_*.sha256")) and time.time() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--checkpoint-every", "20", "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "interrupted at step" in err and "rerun the same command to resume (shard 1/1)" in err
    summary = json.loads((ckpts.parent / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["step"] == _final_state(ckpts.parent)["step"]
    record = json.loads(next((out / "shards" / "1-of-1").glob("*.json")).read_text())
    assert record["finished"] is None and record["results"]["ring8__nonsaturating"]["after"] == "interrupted"


def test_the_table_says_when_cells_were_trained_under_other_versions(whole, tmp_path):
    out = tmp_path / "mixed"
    shutil.copytree(whole, out)
    config = out / "cells" / "grid25__nonsaturating" / "config.json"
    header = json.loads(config.read_text())
    header["segments"][0]["versions"]["torch"] = "9.9.9"  # not part of the identity: a resume may change it
    config.write_text(json.dumps(header))
    assert main(["sweep", "merge", str(out)]) == 0
    md = (out / "table.md").read_text()
    assert "cells were trained under several versions: torch " in md and "9.9.9" in md
    assert "several versions" not in (whole / "table.md").read_text()


def test_the_replay_evaluates_at_the_runs_evaluation_steps(whole, monkeypatch):
    """A diverging member falls back to its weights at the last evaluation, so the replay must
    evaluate exactly when the run did (the steps in metrics.jsonl)."""
    from ganlab.plots import folders as figures
    from ganlab.training.engine import Trainer

    seen = []
    original = Trainer.evaluate
    monkeypatch.setattr(Trainer, "evaluate", lambda self, *a, **k: seen.append(self.step) or original(self, *a, **k))
    cell = whole / "cells" / "ring8__nonsaturating"
    figures.replay(figures._entry(cell), frames=2)
    logged = sorted({json.loads(line)["step"] for line in (cell / "metrics.jsonl").read_text().splitlines()})
    assert seen == logged == [0, 10, 20, 30]


def test_a_cell_whose_every_seed_diverged_is_a_result_not_a_failure(tmp_path, spec_file, capsys):
    """All seeds of a cell diverge: the shard goes on (exit 0), the cell is terminal (a rerun
    skips it), and the table shows it with its diverged count and no metrics."""
    text = spec_text().replace('targets = ["ring8", "grid25"]', 'targets = ["ring8"]').replace(
        'method = "nonsaturating"', 'method = "nonsaturating"\nlr_d = 1e30\nlr_g = 1e30')
    cfg, out = spec_file(text), tmp_path / "out"
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "every member diverged" in err and "1 all diverged" in err
    row = json.loads((out / "table.json").read_text())["rows"][0]
    assert (row["method"], row["n"], row["n_diverged"], row["metrics"]) == ("nonsaturating", 0, 2, {})
    assert "| ring8 | nonsaturating |  | 30 | 0 | 2 | — | — | — | — |" in (out / "table.md").read_text()
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    assert "cell 0 ring8__nonsaturating: already all diverged, skipped" in capsys.readouterr().err


def test_merge_names_each_damaged_cell_summary_and_never_calls_it_finished(whole, tmp_path, capsys):
    """One cell's summary.json says finished but holds no members, another is a JSON list, a third
    is not JSON: each is named on its own line, none counts as finished (exit 4, INCOMPLETE), no
    traceback; rerunning the sweep rewrites them from the cells' final checkpoints."""
    out = tmp_path / "damaged"
    shutil.copytree(whole, out)
    first = out / "cells" / "ring8__nonsaturating" / "summary.json"
    summary = json.loads(first.read_text())
    summary["members"], summary["groups"] = [], []
    first.write_text(json.dumps(summary))
    (out / "cells" / "grid25__nonsaturating" / "summary.json").write_text("[1, 2]")
    (out / "cells" / "ring8__packed-m-2-nonsaturating" / "summary.json").write_text("{not json")
    capsys.readouterr()
    assert main(["sweep", "merge", str(out)]) == 4
    err = capsys.readouterr().err
    assert "Traceback" not in err and "3 of 4 cells missing or unfinished" in err
    assert "cell 0 `ring8__nonsaturating` (nonsaturating on ring8): summary.json is damaged (finished with " \
           "members 0, expected 2)" in err
    assert "cell 1 `grid25__nonsaturating` (nonsaturating on grid25): summary.json is damaged (a JSON list, " \
           "not an object)" in err
    assert "cell 2 `ring8__packed-m-2-nonsaturating` (packed m=2 (nonsaturating) on ring8): summary.json is " \
           "damaged (not valid JSON)" in err
    md = (out / "table.md").read_text()
    assert "**INCOMPLETE: 1 of 4 cells finished." in md and "Complete" not in md
    assert [r["cell"] for r in json.loads((out / "table.json").read_text())["rows"]] == \
        ["grid25__packed-m-2-nonsaturating"] * 2
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(spec_text())
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    assert _tables(out) == _tables(whole)


def test_a_full_disk_in_a_sweep_is_exit_5_with_one_error_line(tmp_path, spec_file, capsys, monkeypatch):
    import errno

    from ganlab.training import rundir

    real_save = rundir.RunDir.save_checkpoint

    def save(self, state, identity):
        if state["step"] >= 20:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return real_save(self, state, identity)

    monkeypatch.setattr(rundir.RunDir, "save_checkpoint", save)
    out = tmp_path / "full"
    assert main(["sweep", "run", str(spec_file()), "--out", str(out), "--no-progress", "--checkpoint-every", "10"]) == 5
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "No space left on device" in errors[0], errors
    assert "the checkpoint at step 10 in " in errors[0] and "ring8__nonsaturating is intact" in errors[0]
    assert json.loads((out / "cells" / "ring8__nonsaturating" / "summary.json").read_text())["status"] == "failed"


# -- a budget on the command line: stop a sweep early, extend it later ------------------------------------------
def test_a_sweep_stopped_at_a_budget_and_extended_equals_the_whole_sweep(whole, tmp_path, spec_file, capsys):
    """--steps 10, then --steps 30 (the file's budget) in the same folder: every cell resumes from its
    checkpoint and ends bit-identical to the sweep run to 30 in one go; sweep.json keeps both budgets
    and the table is the whole sweep's."""
    cfg, out = spec_file(), tmp_path / "grown"
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--steps", "10", "--no-progress"]) == 0
    record = json.loads((out / SWEEP_JSON).read_text())
    assert record["spec"]["steps"] == 10 and {c["steps"] for c in record["cells"]} == {10}
    assert main(["sweep", "run", str(cfg), "--out", str(out), "--steps", "30", "--no-progress"]) == 0
    record = json.loads((out / SWEEP_JSON).read_text())
    assert [b["steps"] for b in record["budgets"]] == [10, 30]
    for cell in (whole / "cells").iterdir():
        _same_run(cell, out / "cells" / cell.name)
    assert _tables(out)[2]["rows"] == _tables(whole)[2]["rows"]


def test_a_budget_below_what_a_cell_reached_is_refused(whole, tmp_path, spec_file, capsys):
    out = tmp_path / "copy"
    shutil.copytree(whole, out)
    before = (out / SWEEP_JSON).read_text()
    assert main(["sweep", "run", str(spec_file()), "--out", str(out), "--steps", "20", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has reached step 30: a budget of 20 steps would discard its training" in err
    assert (out / SWEEP_JSON).read_text() == before


def test_a_budget_needs_every_variant_to_take_the_sweeps_steps(spec_file, tmp_path, capsys):
    cfg = spec_file(spec_text().replace('compare = ["lin2018:GAN"]', 'compare = ["lin2018:GAN"]\nsteps = 20'))
    assert main(["sweep", "run", str(cfg), "--out", str(tmp_path / "o"), "--steps", "10", "--no-progress"]) == 2
    assert "[[methods]] #1 (nonsaturating) sets its own steps" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_a_bad_budget_is_one_line(spec_file, tmp_path, capsys, steps):
    assert main(["sweep", "run", str(spec_file()), "--out", str(tmp_path / "o"), "--steps", steps, "--no-progress"]) == 2
    assert f"steps must be an integer >= 1, got {steps}" in capsys.readouterr().err
