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


# -- the collectives' devices, checked on CPU with a recording process group -------------------------------
class _Group:
    """Stands in for torch.distributed: records the backend, the order of events, and the device of
    every tensor a collective is given (an NCCL group refuses CPU tensors)."""

    ReduceOp = torch.distributed.ReduceOp

    def __init__(self):
        self.events: list[tuple] = []
        self.started = False

    def is_initialized(self):
        return self.started

    def init_process_group(self, backend, **kw):
        self.started = True
        self.events.append(("init", backend))

    def all_reduce(self, t, op=None):
        self.events.append(("all_reduce", getattr(t, "asked_device", t.device)))

    def barrier(self, device_ids=None):
        self.events.append(("barrier", device_ids))

    def gather_object(self, obj, out, dst=0):
        self.events.append(("gather_object",))

    def broadcast_object_list(self, box, src=0):
        self.events.append(("broadcast_object_list",))


def _comm(monkeypatch, device, rank=1, local_rank=1):
    """A Comm of rank ``rank`` (local rank ``local_rank``) of two, on the recording group; a tensor
    asked for on a GPU is made on the CPU (there is none here) and carries the device it was asked
    for, which the group records."""
    import torch.distributed as dist

    from ganlab.training import runs

    group = _Group()
    for name in ("is_initialized", "init_process_group", "all_reduce", "barrier", "gather_object",
                 "broadcast_object_list"):
        monkeypatch.setattr(dist, name, getattr(group, name))
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: group.events.append(("set_device", i)))
    real_tensor = torch.tensor

    def tensor(data, *, device=None, **kw):
        if device is not None and torch.device(device).type == "cuda":  # no GPU: keep the device asked for
            t = real_tensor(data, **kw)
            t.asked_device = torch.device(device)
            return t
        return real_tensor(data, device=device, **kw)

    monkeypatch.setattr(torch, "tensor", tensor)
    for k, v in (("WORLD_SIZE", "2"), ("RANK", str(rank)), ("LOCAL_RANK", str(local_rank))):
        monkeypatch.setenv(k, v)
    return runs.Comm(device), group


def test_on_gpus_each_process_takes_its_local_gpu_before_the_nccl_group_starts(monkeypatch):
    comm, group = _comm(monkeypatch, "cuda", rank=3, local_rank=1)  # (rank 3 of a second node: GPU 1)
    assert group.events == [("set_device", 1), ("init", "nccl")]
    assert comm.device == torch.device("cuda", 1)
    group.events.clear()
    comm.any(True)
    comm.barrier()
    assert group.events == [("all_reduce", torch.device("cuda", 1)), ("barrier", [1])]


def test_on_cpu_the_gloo_group_gets_cpu_tensors_and_no_gpu_is_touched(monkeypatch):
    comm, group = _comm(monkeypatch, "cpu")
    assert group.events == [("init", "gloo")] and comm.device == torch.device("cpu")
    group.events.clear()
    assert comm.any(False) is False
    comm.barrier()
    assert group.events == [("all_reduce", torch.device("cpu")), ("barrier", None)]


def test_one_named_gpu_for_every_process_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="--device cuda:0 names one GPU for every process"):
        _comm(monkeypatch, "cuda:0")
