"""Figures of a sweep and of a run, at a tiny budget: every file is written and not blank, the
replay reproduces the run it claims to, and what cannot be drawn is refused in one line."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlab.plots import folders as figures
from ganlab.cli import main

TINY = Path(__file__).resolve().parents[2] / "benchmarks" / "protocols" / "tiny.toml"

NAMES = ("samples", "coverage", "curves", "snapshots")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The shipped tiny protocol, run once for the module."""
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny") / "sweep"
    assert main(["sweep", "run", str(TINY), "--out", str(out), "--no-progress"]) == 0
    return out


def _not_blank(png) -> None:
    im = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert min(im.shape) > 200, png
    assert (im < 128).mean() > 0.002, f"{png} is (nearly) blank"


def test_every_figure_of_a_sweep_is_written(tiny, tmp_path, capsys):
    out = tmp_path / "fig"
    assert main(["figures", str(tiny), "--out", str(out), "--frames", "4"]) == 0
    printed = capsys.readouterr()
    assert "replay matches the run's final samples bit for bit" in printed.err
    for name in NAMES:
        _not_blank(out / f"{name}.png")
        assert (out / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
        assert str(out / f"{name}.png") in printed.out
    gif = Image.open(out / "training.gif")
    assert gif.n_frames == 4 and min(gif.size) > 200


def test_a_run_folder_alone_gets_its_figures(tiny, tmp_path):
    out = tmp_path / "fig"
    assert main(["figures", str(tiny / "cells" / "grid25__packed-m-2-nonsaturating"), "--out", str(out),
                 "--no-replay"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.{f}" for n in NAMES[:3] for f in ("png", "pdf"))
    _not_blank(out / "samples.png")


def test_the_replay_is_checked_against_the_run(tiny, tmp_path):
    """The replay's final samples equal samples.npz bit for bit; with samples.npz changed by a
    rounding error the check says so."""
    src = figures.load(tiny)
    entry = next(e for e in src.entries if e.path.name == "ring8__packed-m-2-nonsaturating")
    r = figures.replay(entry, seed=1, frames=3)
    assert r.matches_run and r.seed == 1 and r.steps == [0, 15, 30] and len(r.frames) == 3
    assert r.trajectory[-1]["w1"] > 0 and not np.array_equal(r.frames[0], r.frames[-1])
    copy = tmp_path / "cell"
    shutil.copytree(entry.path, copy)
    with np.load(copy / "samples.npz") as z:
        saved = {k: z[k] for k in z.files}
    saved["samples"][1, 0, 0] = np.nextafter(saved["samples"][1, 0, 0], np.float32(np.inf))
    np.savez(copy / "samples.npz", **saved)
    r = figures.replay(figures._entry(copy), seed=1, frames=2)
    assert r.matches_run is False and 0 < r.max_gap < 1e-6
    assert "DIFFERS" in figures._replay_note(r)


def test_a_partial_replay_makes_no_claim(tiny):
    entry = figures.load(tiny).entries[0]
    r = figures.replay(entry, frames=2, until=10)
    assert r.steps == [0, 10] and r.matches_run is None
    assert figures._replay_note(r) == "replayed part of the run"


def test_the_gif_needs_pillow(tiny, tmp_path, monkeypatch):
    entry = figures.load(tiny).entries[0]
    r = figures.replay(entry, frames=2, until=2)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(figures.FigureError, match="needs Pillow"):
        figures.training_gif(r, tmp_path)


@pytest.mark.parametrize("extra,match", [
    (["--frames", "1"], "--frames must be at least 2, got 1"),
    (["--cell", "nope"], "no finished cell 'nope'"),
    (["--seed", "9"], "seed 9 is not a seed of"),
    (["--seed", "0", "--no-replay"], "--cell and --seed choose the replayed run"),
])
def test_bad_figure_requests_are_one_line(tiny, tmp_path, capsys, extra, match):
    assert main(["figures", str(tiny), "--out", str(tmp_path / "f"), *extra]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_figures_of_a_folder_that_holds_nothing_to_draw(tiny, tmp_path, capsys):
    assert main(["figures", str(tmp_path)]) == 2
    assert "is neither a sweep folder (sweep.json) nor a run folder" in capsys.readouterr().err
    run = tmp_path / "run"
    shutil.copytree(tiny / "cells" / "ring8__nonsaturating", run)
    (run / "samples.npz").unlink()
    assert main(["figures", str(run)]) == 2
    assert "the run has not finished" in capsys.readouterr().err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished"  # only samples.npz was missing


@pytest.mark.parametrize("where,match", [
    ("/proc/ganlab-figures", "--out /proc/ganlab-figures: cannot write in folder '/proc'"),
    ("{tmp}/file/figures", "is a file, not a folder"),
])
def test_an_unwritable_figures_folder_is_refused_before_any_work(tiny, tmp_path, capsys, monkeypatch, where, match):
    from ganlab.plots import folders as figures

    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(figures, "make_figures", lambda *a, **kw: pytest.fail("worked before refusing"))
    assert main(["figures", str(tiny), "--out", where.format(tmp=tmp_path)]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_figures_of_a_run_with_a_damaged_summary_is_one_line(tiny, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny / "cells" / "ring8__nonsaturating", run)
    (run / "summary.json").write_text("[]")
    assert main(["figures", str(run), "--no-replay"]) == 2
    err = capsys.readouterr().err
    assert "is damaged (a JSON list, not an object)" in err and err.count("\n") == 1


def test_figures_of_a_sample_only_target_are_refused_in_one_line(tmp_path, capsys):
    """The swiss roll has no density to draw samples over and no modes to count: one line, exit 2,
    not a NoDensityError traceback from the background."""
    from ganlab.cli import main as ganlab

    run = tmp_path / "roll"
    assert ganlab(["train", "--target", "swissroll", "--seeds", "1", "--steps", "4", "--batch", "16", "--g-width", "8",
                   "--d-width", "8", "--eval-every", "2", "--eval-samples", "50", "--no-progress", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["figures", str(run), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert "sample-only target 'swissroll'" in err and err.count("\n") == 1


def test_the_coverage_figure_states_both_budgets(tiny):
    """The tiny sweep (quick preset, 30 steps) beside PacGAN's rows (pacgan preset, 400,000
    iterations): the figure's caption gives our budget as a share of theirs and says the protocol
    differs; the markers' legend says so too."""
    src = figures.load(tiny)
    caption = figures.budget_caption(src)
    assert caption.startswith("ours: 30 steps per run = ")
    assert "0.0075 % of the 400,000 iterations of Lin et al. 2018" in caption  # 30 / 400,000
    assert "another protocol" in caption
    labels = {figures._published_label(c) for c in src.comparisons}
    assert labels and all("400,000 iterations, other protocol" in x for x in labels)
