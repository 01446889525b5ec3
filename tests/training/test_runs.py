"""Runs a user can trust: outputs, refusal to overwrite, and bit-identical resumption after a kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab.cli import main

ARGS = ["train", "--target", "ring8", "--seeds", "2", "--batch", "32", "--eval-every", "50",
        "--eval-samples", "500", "--no-progress"]


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganlab", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _final_state(run: Path) -> dict:
    ckpt = sorted((run / "checkpoints").glob("step_*.pt"))[-1]
    return torch.load(ckpt, weights_only=True)


def test_resume_after_kill_is_bit_identical(tmp_path):
    """SIGKILL a run after its second checkpoint, resume it, and compare with an uninterrupted run:
    weights, optimizer state, metrics and final samples are identical bit for bit."""
    steps = ["--steps", "1500", "--checkpoint-every", "100"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    ref = _cli(*ARGS, *steps, "--out", str(whole))
    victim = _cli(*ARGS, *steps, "--out", str(cut))
    deadline = time.time() + 300
    def past_second_checkpoint() -> bool:  # older checkpoints are pruned, so look for any ≥ 200
        return any(int(p.stem[5:]) >= 200 for p in (cut / "checkpoints").glob("step_*.pt"))

    while not past_second_checkpoint():
        assert victim.poll() is None, victim.stdout.read().decode()
        assert time.time() < deadline
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (cut / "summary.json").exists(), "the run finished before it could be killed"
    assert ref.wait() == 0, ref.stdout.read().decode()
    resumed = _cli("train", "--resume", str(cut), "--no-progress")
    assert resumed.wait() == 0, resumed.stdout.read().decode()

    a, b = _final_state(whole), _final_state(cut)
    assert a["step"] == b["step"] == 1500
    for part in ("params_g", "params_d"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), (part, k)
    for s_a, s_b in zip(a["opt_d"]["state"].values(), b["opt_d"]["state"].values()):
        assert all(torch.equal(s_a[k], s_b[k]) for k in s_a)
    assert (whole / "metrics.json").read_text() == (cut / "metrics.json").read_text()
    assert (whole / "metrics.csv").read_text() == (cut / "metrics.csv").read_text()
    sa, sb = np.load(whole / "samples.npz"), np.load(cut / "samples.npz")
    assert np.array_equal(sa["samples"], sb["samples"])
    assert json.loads((whole / "summary.json").read_text()) == json.loads((cut / "summary.json").read_text())


def test_run_folder_holds_config_versions_metrics_samples(tmp_path):
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "100", "--checkpoint-every", "100", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["config"]["seeds"] == [0, 1] and cfg["config"]["steps"] == 100
    assert {"torch", "numpy", "pot", "python"} <= set(cfg["versions"])
    rows = json.loads((out / "metrics.json").read_text())
    assert sorted({r["step"] for r in rows}) == [0, 50, 100]
    assert {"modes_captured", "high_quality_fraction", "reverse_kl", "d_loss", "g_loss"} <= set(rows[-1])
    assert np.load(out / "samples.npz")["samples"].shape == (2, 500, 2)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["aggregate"]["w1"]["n"] == 2


def test_existing_output_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    assert main([*ARGS, "--steps", "10", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "user data" and len(list(out.iterdir())) == 1


def test_resume_with_a_different_config_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "20", "--checkpoint-every", "10", "--out", str(out)]) == 0
    before = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert main(["train", "--resume", str(out), "--pack", "3"]) == 2
    err = capsys.readouterr().err
    assert "refusing to resume" in err and "method.pack: saved 1, given 3" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before


@pytest.mark.parametrize("argv,match", [
    (["--target", "nope"], "invalid choice: 'nope'"),
    (["--method", "hinge"], "invalid choice: 'hinge'"),
    (["--pack", "0"], "pack must be an integer >= 1, got 0"),
    (["--seeds", "0"], "at least one seed"),
    (["--lr-d", "nan"], "lr_d must be a positive finite number, got nan"),
])
def test_bad_train_input_is_named_before_any_work(tmp_path, capsys, argv, match):
    out = tmp_path / "run"
    try:
        code = main(["train", *argv, "--out", str(out)])
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    assert code == 2
    assert match in capsys.readouterr().err
    assert not out.exists()


def test_grid_run_reports_each_point_over_its_seeds(tmp_path):
    out = tmp_path / "grid"
    assert main([*ARGS, "--steps", "20", "--checkpoint-every", "20", "--grid", "lr_d=1e-4,1e-3",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [g["hyper"] for g in summary["groups"]] == [{"lr_d": 1e-4}, {"lr_d": 1e-3}]
    assert all(g["aggregate"]["w1"]["n"] == 2 for g in summary["groups"])
    rows = json.loads((out / "metrics.json").read_text())
    assert [(r["seed"], r["lr_d"]) for r in rows if r["step"] == 20] == [(0, 1e-4), (1, 1e-4), (0, 1e-3), (1, 1e-3)]
    saved = np.load(out / "samples.npz")
    assert saved["samples"].shape[0] == 4 and list(saved["lr_d"]) == [1e-4, 1e-4, 1e-3, 1e-3]


def test_bad_grid_flag_is_refused(tmp_path, capsys):
    assert main([*ARGS, "--grid", "lr_d=fast", "--out", str(tmp_path / "g")]) == 2
    assert "--grid 'lr_d=fast'" in capsys.readouterr().err


def test_resume_writes_final_results_a_killed_finish_left_out(tmp_path):
    """A run killed after its last checkpoint but before samples.npz and summary.json were written
    gets them on --resume, identical to what the finish would have written."""
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "20", "--checkpoint-every", "10", "--out", str(out)]) == 0
    summary, samples = (out / "summary.json").read_text(), np.load(out / "samples.npz")["samples"]
    (out / "summary.json").unlink()
    (out / "samples.npz").unlink()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert (out / "summary.json").read_text() == summary
    assert np.array_equal(np.load(out / "samples.npz")["samples"], samples)


def test_metrics_json_is_strict_json(tmp_path):
    """Undefined values (no high-quality samples → reverse KL undefined) are null, not NaN."""
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "10", "--checkpoint-every", "10", "--out", str(out)]) == 0
    text = (out / "metrics.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


@pytest.mark.parametrize("argv,match", [
    (["--preset", "pacgan", "--method", "wgan"], "preset 'pacgan' fixes its method"),
    (["--eval-samples", "6000"], "eval_samples must be at most 5000"),
    (["--method", "unrolled", "--gp-lambda", "1"], "unroll=5 with gp_lambda=1.0"),
])
def test_contradictory_train_flags_are_refused(tmp_path, capsys, argv, match):
    assert main(["train", *argv, "--out", str(tmp_path / "r")]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_seed_start_alone_shifts_the_default_seeds():
    from ganlab.cli import _parser, build_config

    cfg = build_config(_parser().parse_args(["train", "--seed-start", "100", "--out", "x"]))
    assert cfg.seeds == (100, 101, 102, 103)
    cfg = build_config(_parser().parse_args(["train", "--method", "packed", "--out", "x"]))
    assert cfg.method_name == "packed" and cfg.method.pack == 2 and cfg.method.lr_d == 1e-3
