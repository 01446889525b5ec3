"""``torchrun --nproc_per_node 2`` (gloo, CPU): each process trains a block of the members and the
run folder holds the same bits as a one-process run; a resume may use another process count."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ARGS = ["train", "--seeds", "3", "--batch", "32", "--eval-every", "40", "--eval-samples", "400",
        "--checkpoint-every", "40", "--no-progress"]


def _run(cmd: list[str], processes: int, port: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if processes == 1:
        full = [sys.executable, "-m", "ganlab", *cmd]
    else:
        full = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
                "--master_port", str(port), "-m", "ganlab", *cmd]
    done = subprocess.run(full, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def _same(a: Path, b: Path) -> None:
    assert (a / "metrics.jsonl").read_text() == (b / "metrics.jsonl").read_text()
    ca, cb = (sorted((p / "checkpoints").glob("*.pt"))[-1] for p in (a, b))
    sa, sb = torch.load(ca, weights_only=True), torch.load(cb, weights_only=True)
    for part in ("params_g", "params_d"):
        for k in sa[part]:
            assert torch.equal(sa[part][k], sb[part][k]), (part, k)
    for x, y in zip(sa["opt_g"]["exp_avg"], sb["opt_g"]["exp_avg"]):
        assert torch.equal(x, y)
    assert np.array_equal(np.load(a / "samples.npz")["samples"], np.load(b / "samples.npz")["samples"])
    ja, jb = (json.loads((p / "summary.json").read_text()) for p in (a, b))
    ja.pop("updated"), jb.pop("updated")
    assert ja == jb


def test_two_processes_give_the_bits_of_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _run([*ARGS, "--steps", "80", "--grid", "lr_d=1e-4,1e-3", "--out", str(one)], 1, 0)
    _run([*ARGS, "--steps", "80", "--grid", "lr_d=1e-4,1e-3", "--out", str(two)], 2, 29611)
    _same(one, two)
    segment = json.loads((two / "config.json").read_text())["segments"][0]
    assert segment["runtime"]["processes"] == 2


def test_a_run_resumes_under_another_process_count(tmp_path):
    """Started with two processes, extended with one (and the other way round): the same bits as
    one uninterrupted one-process run."""
    whole, a, b = tmp_path / "whole", tmp_path / "a", tmp_path / "b"
    _run([*ARGS, "--steps", "120", "--out", str(whole)], 1, 0)
    _run([*ARGS, "--steps", "80", "--out", str(a)], 2, 29612)
    _run(["train", "--resume", str(a), "--steps", "120", "--no-progress"], 1, 0)
    _same(whole, a)
    _run([*ARGS, "--steps", "80", "--out", str(b)], 1, 0)
    _run(["train", "--resume", str(b), "--steps", "120", "--no-progress"], 2, 29613)
    _same(whole, b)


def test_more_processes_than_members_is_refused(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "r"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29614", "-m", "ganlab", *ARGS, "--seeds", "1", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "1 member(s) cannot be split over 2 processes" in done.stdout + done.stderr
    assert not out.exists()
