"""Runs a user can trust: outputs, resumption (after a kill, extended, on damaged files), locking,
interruption, divergence, and one-line refusals of bad input before any work."""

import dataclasses
import errno
import json
import os
import re
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


def _wait_for_first_metrics(p: subprocess.Popen, out: Path) -> None:
    """Until the run's step-0 evaluation is on disk (the run loop has begun), at most 120 s."""
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text():
        assert p.poll() is None and time.time() < deadline
        time.sleep(0.05)


def _final_state(run: Path) -> dict:
    ckpt = sorted((run / "checkpoints").glob("step_*.pt"))[-1]
    return torch.load(ckpt, weights_only=True)


def _same_results(a: Path, b: Path) -> None:
    sa, sb = _final_state(a), _final_state(b)
    assert sa["step"] == sb["step"]
    for part in ("params_g", "params_d"):
        for k in sa[part]:
            assert torch.equal(sa[part][k], sb[part][k]), (part, k)
    for key in ("exp_avg", "exp_avg_sq"):
        for x, y in zip(sa["opt_d"][key], sb["opt_d"][key]):
            assert torch.equal(x, y)
    assert (a / "metrics.jsonl").read_text() == (b / "metrics.jsonl").read_text()
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
    assert np.array_equal(np.load(a / "samples.npz")["samples"], np.load(b / "samples.npz")["samples"])
    ja, jb = json.loads((a / "summary.json").read_text()), json.loads((b / "summary.json").read_text())
    ja.pop("updated"), jb.pop("updated")
    assert ja == jb


def test_resume_after_kill_is_bit_identical(tmp_path):
    """SIGKILL a run after its second checkpoint, resume it, and compare with an uninterrupted run:
    weights, optimizer state, metrics, samples and summary are identical bit for bit."""
    steps = ["--steps", "1500", "--checkpoint-every", "100"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    ref = _cli(*ARGS, *steps, "--out", str(whole))
    victim = _cli(*ARGS, *steps, "--out", str(cut))
    deadline = time.time() + 300

    def past_second_checkpoint() -> bool:  # older checkpoints are pruned, so look for any ≥ 200
        return any(int(p.stem[5:]) >= 200 for p in (cut / "checkpoints").glob("step_*.sha256"))

    while not past_second_checkpoint():
        assert victim.poll() is None, victim.stdout.read().decode()
        assert time.time() < deadline
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert json.loads((cut / "summary.json").read_text())["status"] == "running"
    assert ref.wait() == 0, ref.stdout.read().decode()
    resumed = _cli("train", "--resume", str(cut), "--no-progress")
    out = resumed.communicate()[0].decode()
    assert resumed.returncode == 0, out
    assert "resuming" in out and "at step" in out
    _same_results(whole, cut)


def test_extending_a_finished_run_equals_the_longer_run(tmp_path):
    """A 120-step run extended with --steps 200 equals a 200-step run trained in one go."""
    long, short = tmp_path / "long", tmp_path / "short"
    assert main([*ARGS, "--steps", "200", "--checkpoint-every", "60", "--out", str(long)]) == 0
    assert main([*ARGS, "--steps", "120", "--checkpoint-every", "60", "--out", str(short)]) == 0
    assert json.loads((short / "summary.json").read_text())["step"] == 120
    assert main(["train", "--resume", str(short), "--steps", "200", "--no-progress"]) == 0
    _same_results(long, short)
    config = json.loads((short / "config.json").read_text())
    assert config["steps"] == 200 and [s["from_step"] for s in config["segments"]] == [0, 120]


def test_timing_json_records_each_finished_segment_and_a_damaged_one_never_fails_the_run(tmp_path):
    """timing.json: one entry per run call that finishes, its phases within the call's wall time;
    a damaged timing.json is a lost measurement, never a failed run."""
    out = tmp_path / "run"
    t0 = time.time()
    assert main([*ARGS, "--steps", "100", "--checkpoint-every", "50", "--out", str(out)]) == 0
    t1 = time.time()
    (entry,) = json.loads((out / "timing.json").read_text())["segments"]
    assert (entry["from_step"], entry["to_step"]) == (0, 100)
    assert t0 <= entry["started_at"] <= entry["first_step_at"] <= t1
    phases = sum(entry[k] for k in ("train_s", "eval_s", "checkpoint_s", "final_s"))
    assert 0 < entry["train_s"] and 0 < entry["final_s"] and phases <= t1 - entry["started_at"]
    (out / "timing.json").write_text("[1, 2")  # torn
    assert main(["train", "--resume", str(out), "--steps", "150", "--no-progress"]) == 0
    assert json.loads((out / "summary.json").read_text())["status"] == "finished"
    (entry,) = json.loads((out / "timing.json").read_text())["segments"]
    assert (entry["from_step"], entry["to_step"]) == (100, 150)


def test_a_run_whose_metrics_were_defined_otherwise_is_not_continued(tmp_path, capsys):
    """Resuming appends to the run's series: a run started when w1 was the exact W1 of all samples
    (no w1_se in its summary), or whose metrics columns differ from what this version writes, is
    refused in one line instead of mixing two definitions in one column."""
    out = tmp_path / "run"
    flags = [*ARGS, "--evaluators", "modes,w1", "--steps", "50", "--checkpoint-every", "50"]
    assert main([*flags, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for m in summary["members"]:
        m.pop("w1_se")
    (out / "summary.json").write_text(json.dumps(summary))
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "100", "--no-progress"]) == 2
    assert "exact W1 of all samples" in capsys.readouterr().err
    csv_path = out / "metrics.csv"
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join([lines[0].replace(",w1_se", ""), *lines[1:]]) + "\n")
    assert main(["train", "--resume", str(out), "--steps", "100", "--no-progress"]) == 2
    assert "other metrics columns" in capsys.readouterr().err


def test_run_folder_holds_config_versions_metrics_samples(tmp_path):
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "100", "--checkpoint-every", "100", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["identity"]["seeds"] == [0, 1] and cfg["steps"] == 100
    assert [m["seed"] for m in cfg["identity"]["members"]] == [0, 1]
    assert {"torch", "numpy", "pot", "python"} <= set(cfg["segments"][0]["versions"])
    assert cfg["segments"][0]["runtime"]["device"] == "cpu"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert sorted({r["step"] for r in rows}) == [0, 50, 100]
    assert {"modes_captured", "high_quality_fraction", "reverse_kl", "d_loss", "g_loss"} <= set(rows[-1])
    assert np.load(out / "samples.npz")["samples"].shape == (2, 500, 2)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["aggregate"]["w1"]["n"] == 2
    for f in (out / "checkpoints").glob("*.pt"):
        torch.load(f, weights_only=True)


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
    assert "refusing to resume" in err and "method.pack: 1 vs 3" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before


def test_resume_keeps_each_grid_member_with_its_values(tmp_path):
    """Grid fields given out of alphabetical order: the members are in canonical order (fields
    sorted), stored explicitly, and a resume trains each member with its own values — the same
    bits as an uninterrupted run."""
    grid = ["--method", "wgan-gp", "--grid", "lr_d=1e-4,1e-3", "--grid", "gp_lambda=0.1,10"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main([*ARGS, *grid, "--steps", "40", "--eval-every", "20", "--out", str(whole)]) == 0
    assert main([*ARGS, *grid, "--steps", "20", "--eval-every", "20", "--out", str(cut)]) == 0
    members = json.loads((cut / "config.json").read_text())["identity"]["members"]
    assert [(m["gp_lambda"], m["lr_d"]) for m in members[::2]] == [(0.1, 1e-4), (0.1, 1e-3), (10.0, 1e-4), (10.0, 1e-3)]
    assert main(["train", "--resume", str(cut), "--steps", "40", "--no-progress"]) == 0
    _same_results(whole, cut)


# identity SHA-256 of presets as computed by commit c3c822b, before MLPSpec.input_scale existed
SAVED_IDENTITIES = {
    "quick": "26cb8258e384cef0a879d11e79f18d6761e72378f1ebdcc5bb94e4fa927367d8",
    "veegan": "f70091fdc8912e2cc3d1ad491fdf495ff9321c0560f5b62c82119963aada411a",
    "pacgan": "87a9b46a0628f9fb974e2b3a16e96e2d566cfd7f1cc2c4f40155a421fe63a48d",
    "mnist-dcgan": "96b2b8211011132dc357143f4c82f2b53a7ebd3d8763570d3b728e2f1cec1265",
}


@pytest.mark.parametrize("preset", list(SAVED_IDENTITIES))
def test_a_new_spec_field_at_its_default_keeps_saved_identities(preset):
    """Run folders saved before a model-spec field was added must still load and resume: their
    identity (and its hash) is unchanged while the new field is at its default; off its default
    it enters the identity."""
    from ganlab.training.presets import make_preset

    cfg = make_preset(preset)
    assert cfg.identity_sha256() == SAVED_IDENTITIES[preset]
    if cfg.discriminator.__class__.__name__ == "MLPSpec":
        assert "input_scale" not in cfg.identity()["discriminator"]
        scaled = dataclasses.replace(cfg, discriminator=dataclasses.replace(cfg.discriminator, input_scale=0.25))
        assert scaled.identity()["discriminator"]["input_scale"] == 0.25
        assert type(cfg).from_dict({**scaled.identity(), "steps": 1}).discriminator.input_scale == 0.25


def test_eval_at_adds_evaluations_and_enters_the_identity_only_when_set(tmp_path):
    """--eval-at 3,7 with --eval-every 10: metrics rows at steps 0, 3, 7, 10 (and the weights are
    those of the run without the extra evaluations: evaluation draws from its own streams); an
    empty eval_at leaves the saved identity as it was (checked above against stored hashes)."""
    from ganlab.training.config import TrainConfig

    plain, extra = tmp_path / "plain", tmp_path / "extra"
    common = [*ARGS[:-3], "--no-progress", "--steps", "12", "--eval-every", "10", "--eval-samples", "200"]
    assert main([*common, "--out", str(plain)]) == 0
    assert main([*common, "--eval-at", "3,7", "--out", str(extra)]) == 0
    steps = lambda d: sorted({json.loads(l)["step"] for l in (d / "metrics.jsonl").read_text().splitlines()})
    assert steps(plain) == [0, 10] and steps(extra) == [0, 3, 7, 10]
    a, b = _final_state(plain), _final_state(extra)
    for part in ("params_g", "params_d"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), (part, k)
    ident = json.loads((extra / "config.json").read_text())["identity"]
    assert ident["eval_at"] == [3, 7] and "eval_at" not in json.loads((plain / "config.json").read_text())["identity"]
    assert TrainConfig.from_dict({**ident, "steps": 12}).eval_at == (3, 7)


@pytest.mark.parametrize("value, match", [("7,3", "increasing order, got \\[7, 3\\]"), ("3,3", "distinct"),
                                          ("0", "eval_at step must be an integer >= 1, got 0")])
def test_a_bad_eval_at_is_one_line(value, match, capsys, tmp_path):
    assert main([*ARGS, "--steps", "5", "--eval-at", value, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(match, err), err
    assert not (tmp_path / "r").exists()


def test_an_edited_config_is_refused_on_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "20", "--checkpoint-every", "10", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    cfg["identity"]["method"]["lr_g"] = 0.5
    (out / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "--resume", str(out), "--steps", "30"]) == 2
    assert "was edited" in capsys.readouterr().err


def test_a_corrupt_config_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "10", "--out", str(out)]) == 0
    (out / "config.json").write_text("{not json")
    assert main(["train", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "damaged (not valid JSON" in err and err.count("\n") == 1


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    """The newest checkpoint truncated or with flipped bytes: resume warns naming it, continues from
    the one before, and ends identical to an undamaged run."""
    whole, hurt = tmp_path / "whole", tmp_path / "hurt"
    for out in (whole, hurt):
        assert main([*ARGS, "--steps", "60", "--checkpoint-every", "20", "--out", str(out)]) == 0
    latest = sorted((hurt / "checkpoints").glob("*.pt"))[-1]
    data = bytearray(latest.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    latest.write_bytes(bytes(data))
    (hurt / "summary.json").unlink()
    (hurt / "samples.npz").unlink()
    with pytest.warns(UserWarning, match=f"checkpoint .*{latest.name}.* is damaged"):
        assert main(["train", "--resume", str(hurt), "--no-progress"]) == 0
    _same_results(whole, hurt)


def test_a_run_folder_is_locked_while_in_use(tmp_path, capsys):
    from ganlab.training.rundir import RunDir

    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "10", "--out", str(out)]) == 0
    with RunDir.open(out):
        assert main(["train", "--resume", str(out), "--steps", "20"]) == 2
        assert "in use by another ganlab process" in capsys.readouterr().err


def test_ctrl_c_checkpoints_and_exits_130_with_one_line(tmp_path):
    out = tmp_path / "run"
    p = _cli(*ARGS, "--steps", "100000", "--checkpoint-every", "100000", "--out", str(out))
    _wait_for_first_metrics(p, out)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    text = p.communicate(timeout=120)[0].decode()
    assert p.returncode == 130, text
    assert text.strip().count("\n") == 0 and "interrupted at step" in text and "--resume" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert _final_state(out)["step"] == summary["step"] > 0


def test_two_quick_ctrl_c_are_one_interruption(tmp_path):
    """Two SIGINTs 10 ms apart (one impatient double press): still one line, exit 130, a checkpoint
    at the step the summary names and status "interrupted", never a KeyboardInterrupt traceback."""
    out = tmp_path / "run"
    p = _cli(*ARGS, "--steps", "100000", "--checkpoint-every", "100000", "--g-width", "16", "--d-width", "16",
             "--out", str(out))
    _wait_for_first_metrics(p, out)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    text = p.communicate(timeout=120)[0].decode()
    assert p.returncode == 130, text
    assert text.count("\n") == 1 and "Traceback" not in text and "interrupted at step" in text, text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert _final_state(out)["step"] == summary["step"] > 0


def test_a_second_ctrl_c_stops_at_once_and_says_what_was_saved(tmp_path, capsys, monkeypatch):
    """A second Ctrl-C a while after the first (a step or evaluation too slow to wait for) stops at
    once: status "interrupted" (not "failed"), exit 130, one line naming the checkpoint that exists."""
    from ganlab.training.engine import Trainer

    real_step = Trainer.train_step

    def step(self):
        if self.step == 15:
            raise KeyboardInterrupt  # where the handler raises it: inside a step
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", step)
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "40", "--checkpoint-every", "10", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted again at step 15 of 40, stopped at once" in err, err
    assert f"the checkpoint at step 10 in {out} is intact" in err
    assert json.loads((out / "summary.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(Trainer, "train_step", real_step)
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0


def test_a_sample_only_target_keeps_the_default_evaluators_that_apply(tmp_path):
    """The swiss roll has no modes to count: the preset's mode evaluator is left out (and the
    configuration says so), W1 to the target, which needs only its samples, is kept and reported."""
    from ganlab.cli import _parser, build_config

    cfg = build_config(_parser().parse_args(["train", "--target", "swissroll", "--out", "x"]))
    assert cfg.evaluators == () and cfg.final_evaluators == ("w1",)
    out = tmp_path / "run"
    assert main([*ARGS, "--target", "swissroll", "--steps", "10", "--g-width", "16", "--d-width", "16",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["aggregate"]) <= {"w1", "w1_se", "w1_floor", "w1_floor_se"}
    assert summary["aggregate"]["w1"]["n"] == 2


def test_every_member_diverging_leaves_metrics_and_a_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "200", "--lr-d", "1e30", "--lr-g", "1e30", "--out", str(out)]) == 3
    assert "every member diverged" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "all_diverged" and len(summary["divergences"]) == 2
    steps = {json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()}
    assert steps == {0, 50}
    assert _final_state(out)["step"] == 50


def test_metrics_json_lines_are_strict_json(tmp_path):
    """Undefined values (no high-quality samples → reverse KL undefined) are null, not NaN."""
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "10", "--checkpoint-every", "10", "--out", str(out)]) == 0
    for line in (out / "metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_grid_run_reports_each_point_over_its_seeds(tmp_path):
    out = tmp_path / "grid"
    assert main([*ARGS, "--steps", "20", "--grid", "lr_d=1e-4,1e-3", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [g["hyper"] for g in summary["groups"]] == [{"lr_d": 1e-4}, {"lr_d": 1e-3}]
    assert all(g["aggregate"]["w1"]["n"] == 2 for g in summary["groups"])
    saved = np.load(out / "samples.npz")
    assert saved["samples"].shape[0] == 4 and list(saved["lr_d"]) == [1e-4, 1e-4, 1e-3, 1e-3]


@pytest.mark.parametrize("argv,label", [
    (["--preset", "pacgan", "--pack", "4"], "packed m=4 (nonsaturating)"),
    (["--preset", "metz-appendix"], "vanilla"),  # alternating, as the appendix
    (["--preset", "metz-appendix", "--unroll", "5"], "unrolled K=5 (vanilla)"),  # the preset switches schedule
    (["--method", "packed", "--pack", "1"], "nonsaturating"),
    (["--method", "unrolled", "--unroll", "3"], "unrolled K=3 (nonsaturating)"),
    (["--method", "wgan-gp"], "wgan-gp"),
    (["--method", "wgan", "--clip", "none", "--gp-lambda", "10"], "wgan-gp"),  # RMSprop: an optimizer, not a method
    (["--method", "nonsaturating", "--gp-lambda", "10"], "nonsaturating + gp λ=10"),  # a GAN with a penalty is said
    (["--method", "vanilla", "--grid", "gp_lambda=0,1"], "vanilla + gp"),
    (["--method", "nonsaturating", "--clip", "0.5"], "nonsaturating + clip 0.5"),
])
def test_the_label_follows_what_is_trained(argv, label):
    from ganlab.cli import _parser, build_config

    assert build_config(_parser().parse_args(["train", *argv, "--out", "x"])).label == label


# -- bad input: one line, exit 2, nothing on disk ----------------------------------------------------------
@pytest.mark.parametrize("argv,match", [
    (["--target", "nope"], "invalid choice: 'nope'"),
    (["--target", "mixture"], "invalid choice: 'mixture'"),
    (["--method", "hinge"], "invalid choice: 'hinge'"),
    (["--pack", "0"], "pack must be an integer >= 1, got 0"),
    (["--seeds", "0"], "--seeds must be at least 1, got 0"),
    (["--seeds", "1000000000"], "1000000000 members"),
    (["--seeds", "50000"], "needs more memory than there is"),
    (["--lr-d", "nan"], "lr_d must be a positive finite number, got nan"),
    (["--lr-d", "-1e-3"], "lr_d must be a positive finite number, got -0.001"),
    (["--pack", "100000"], "needs more memory than there is"),
    (["--batch", "100000000"], "needs more memory than there is"),
    (["--dataset-size", "1000000000"], "needs more memory than there is"),
    (["--noise-dim", "100000000"], "needs more memory than there is"),
    (["--device", "cpufoo"], "device must be 'cpu', 'cuda' or 'cuda:<index>', got 'cpufoo'"),
    (["--device", "cuda:abc"], "got 'cuda:abc'"),
    (["--preset", "pacgan", "--batch", "1"], "batch norm, which needs at least 2 rows"),
    (["--grid", "lr_d=1e-4", "--grid", "lr_d=1e-3"], "--grid lr_d is given twice"),
    (["--grid", "lr_d=1e-3,1e-3"], "repeats a value"),
    (["--grid", "lr_d=1e-3,1e-4", "--lr-d", "5e-4"], "lr_d is given both as a flag and as --grid"),
    (["--grid", "lr_d=fast"], "--grid 'lr_d=fast'"),
    (["--preset", "pacgan", "--method", "wgan"], "preset 'pacgan' fixes its method"),
    (["--method", "unrolled", "--gp-lambda", "1"], "schedule 'unrolled' with gp_lambda=1.0"),
    (["--threads", "0"], "threads must be an integer >= 1, got 0"),
    (["--g-maxout", "0"], "maxout must be an integer >= 1, got 0"),
    (["--d-input-scale", "0"], "input_scale must be a positive finite number, got 0"),
    (["--threads", "100000"], "threads must be at most 1024"),
    # an evaluator that cannot run on the target: refused, not silently absent from the results
    (["--evaluators", "classifier_modes"], "evaluator 'classifier_modes' (in evaluators) does not apply to target 'ring8'"),
    (["--final-evaluators", "modes,parzen"], "evaluator 'parzen' (in final_evaluators) does not apply to target 'ring8'"),
    (["--target", "swissroll", "--evaluators", "modes"], "evaluator 'modes' (in evaluators) does not apply to target "
                                                         "'swissroll'; evaluators that do: w1, sliced_w1"),
    (["--target", "mnist-test8k", "--final-evaluators", "w1"], "evaluator 'w1' (in final_evaluators) does not apply"),
    # weight clipping and a gradient penalty together are neither WGAN nor WGAN-GP
    (["--method", "wgan", "--gp-lambda", "10"], "clip=0.01 with gp_lambda=10.0"),
    (["--method", "wgan-gp", "--clip", "0.01"], "clip=0.01 with gp_lambda=10.0"),
    (["--method", "wgan", "--grid", "gp_lambda=0,10"], "clip=0.01 with gp_lambda=10.0"),
])
def test_bad_train_input_is_one_line_before_any_work(tmp_path, capsys, argv, match):
    out = tmp_path / "run"
    try:
        code = main(["train", *argv, "--out", str(out)])
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert match in err, err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_on_a_cpu_only_torch_is_one_line(tmp_path, capsys):
    assert main(["train", "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    assert "device 'cuda' is not available" in capsys.readouterr().err


def test_out_below_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main([*ARGS, "--steps", "5", "--out", str(tmp_path / "f" / "run")]) == 2
    assert "a file is in the way" in capsys.readouterr().err


def test_out_on_a_read_only_folder_is_one_line(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert main([*ARGS, "--steps", "5", "--out", str(ro / "run")]) == 2
        assert "error:" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_out_where_no_folder_can_be_made_is_one_line(tmp_path, capsys):
    assert main([*ARGS, "--steps", "5", "--out", "/proc/ganlab-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


@pytest.mark.parametrize("code,text", [(errno.ENOSPC, "No space left on device"),
                                       (errno.EACCES, "Permission denied")])  # a folder made read-only
def test_a_failing_disk_mid_run_is_one_line_exit_5_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch,
                                                                                  code, text):
    """A checkpoint write failing after the first checkpoint: the machine's failure (exit 5, not the
    2 of bad input), one line naming the checkpoint that is intact, summary.json saying "failed",
    and the run resumable from that checkpoint."""
    from ganlab.training import rundir

    out = tmp_path / "run"
    real_save = rundir.RunDir.save_checkpoint

    def save(self, state, identity):
        if state["step"] >= 20:
            raise OSError(code, text, str(self.path))
        return real_save(self, state, identity)

    monkeypatch.setattr(rundir.RunDir, "save_checkpoint", save)
    assert main([*ARGS, "--steps", "40", "--checkpoint-every", "10", "--out", str(out)]) == 5
    err = capsys.readouterr().err
    assert text in err and err.count("\n") == 1, err
    assert f"the checkpoint at step 10 in {out} is intact" in err and f"--resume {out}" in err
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"
    monkeypatch.setattr(rundir.RunDir, "save_checkpoint", real_save)
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert json.loads((out / "summary.json").read_text())["status"] == "finished"


def test_running_out_of_memory_mid_run_is_exit_5(tmp_path, capsys, monkeypatch):
    """torch's CPU allocator failing inside a step is the machine's failure, not a traceback."""
    from ganlab.training.engine import Trainer

    real_step = Trainer.train_step

    def step(self):
        if self.step == 15:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
                               "you tried to allocate 4294967296 bytes")
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", step)
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "40", "--checkpoint-every", "10", "--out", str(out)]) == 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "can't allocate memory" in err and "checkpoint at step 10" in err, err
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"


def test_a_full_disk_while_resuming_is_exit_5_not_bad_input(tmp_path, capsys, monkeypatch):
    from ganlab.training import rundir

    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "10", "--out", str(out)]) == 0

    def full(self, header):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path / "config.json"))

    monkeypatch.setattr(rundir.RunDir, "write_header", full)
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "20", "--no-progress"]) == 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err


def test_a_file_size_limit_before_any_checkpoint_claims_none(tmp_path):
    """`ulimit -f` (the kernel's file size limit, as a full disk): every checkpoint write fails
    (Python ignores SIGXFSZ, so the write raises EFBIG). Exit 5, one line that says no checkpoint
    was saved (none was: never "the last checkpoint is intact"), no half-written .tmp left."""
    import resource

    out = tmp_path / "run"
    limit = 30 * 1024  # config.json, metrics and summary fit; a checkpoint (~37 KB) does not

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    p = subprocess.run([sys.executable, "-m", "ganlab", *ARGS, "--steps", "30", "--checkpoint-every", "10",
                        "--g-width", "16", "--d-width", "16", "--out", str(out)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"}, preexec_fn=small_files,
                       timeout=120)
    text = p.stdout.decode()
    assert p.returncode == 5, text
    assert text.count("\n") == 1 and "File too large" in text and "no checkpoint was saved" in text, text
    assert "intact" not in text
    assert not list((out / "checkpoints").iterdir())  # not even a step_*.pt.tmp
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"


def test_resume_may_change_the_runtime_and_records_it(tmp_path):
    out = tmp_path / "run"
    assert main([*ARGS, "--steps", "20", "--checkpoint-every", "10", "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out), "--steps", "30", "--threads", "2", "--dtype", "float64",
                 "--no-progress"]) == 0
    segments = json.loads((out / "config.json").read_text())["segments"]
    assert [s["runtime"]["dtype"] for s in segments] == ["float32", "float64"]
    assert segments[1]["runtime"]["threads"] == 2 and segments[1]["from_step"] == 20


def test_version_and_help_name_every_flags_default(capsys):
    from ganlab.cli import _parser

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("ganlab ")
    train = _parser()._subparsers._group_actions[0].choices["train"]
    for action in train._actions:
        if action.option_strings and action.dest not in ("help", "out", "resume", "no_progress", "grid"):
            assert "default" in (action.help or ""), action.option_strings
