"""Image GANs through the same engine and run folders: a tiny training of every image preset on
the MNIST test split shipped with the project, the image evaluators, and a bit-identical resume."""

import json

import numpy as np
import pytest
import torch

from ganlab.cli import main
from shared_data import not_found, shared_mnist_dir

pytestmark = pytest.mark.skipif(shared_mnist_dir() is None, reason=not_found())

TINY_CONV = ["--g-width", "4", "--d-width", "4", "--g-hidden", "16", "--d-hidden", "16"]
TINY = ["--steps", "6", "--eval-every", "3", "--eval-samples", "16", "--final-samples", "24", "--batch", "8",
        "--seeds", "2", "--no-progress", "--evaluators", "", "--final-evaluators", ""]


@pytest.mark.parametrize("preset,extra,shape", [
    ("mnist-mlp", ["--g-widths", "16,32", "--d-widths", "16"], (1, 28, 28)),
    ("mnist-dcgan", TINY_CONV, (1, 28, 28)),
    ("mnist-cdcgan", TINY_CONV, (1, 28, 28)),
    ("mnist-wgan-gp", TINY_CONV, (1, 28, 28)),
    ("stacked-dcgan", [*TINY_CONV, "--pack", "2"], (3, 28, 28)),
])
def test_every_image_preset_trains_a_few_steps(tmp_path, preset, extra, shape):
    out = tmp_path / preset
    assert main(["train", "--preset", preset, *TINY, *extra, "--out", str(out)]) == 0
    samples = np.load(out / "samples.npz")["samples"]
    assert samples.shape == (2, 24, *shape) and np.isfinite(samples).all()
    assert np.abs(samples).max() <= 1  # tanh output, the data's [−1, 1] scale
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["step"] == 6


def test_an_image_run_resumes_bit_identically(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    args = ["train", "--preset", "mnist-dcgan", *TINY, *TINY_CONV, "--checkpoint-every", "3"]
    assert main([*args, "--steps", "9", "--out", str(whole)]) == 0
    assert main([*args, "--out", str(cut)]) == 0
    assert main(["train", "--resume", str(cut), "--steps", "9", "--no-progress"]) == 0
    a, b = (torch.load(sorted((p / "checkpoints").glob("*.pt"))[-1], weights_only=True) for p in (whole, cut))
    for k in a["params_g"]:
        assert torch.equal(a["params_g"][k], b["params_g"][k]), k
    assert (whole / "metrics.jsonl").read_text() == (cut / "metrics.jsonl").read_text()
    assert np.array_equal(np.load(whole / "samples.npz")["samples"], np.load(cut / "samples.npz")["samples"])


def test_image_evaluators_report_modes_and_parzen(tmp_path, monkeypatch):
    """classifier modes (of 10 digits) at every evaluation and Parzen log-likelihood at the end;
    a barely trained G covers few digits and its Parzen estimate is far below real digits'."""
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert main(["train", "--preset", "mnist-mlp", "--g-widths", "16,32", "--d-widths", "16", "--steps", "4",
                 "--eval-every", "2", "--eval-samples", "200", "--final-samples", "300", "--seeds", "1",
                 "--no-progress", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 2, 4]
    assert all(1 <= r["modes_captured"] <= 10 and 0 <= r["reverse_kl"] <= np.log(10) + 1e-12 for r in rows)
    member = json.loads((out / "summary.json").read_text())["members"][0]
    assert min(abs(member["parzen_sigma"] - 10 ** (-1 + k / 9)) for k in range(10)) < 1e-12
    assert member["parzen_ll"] < 0 < member["parzen_se"]
    assert list((tmp_path / "cache").glob("digit-classifier-*.pt"))  # trained once, cached


def test_ganlab_figures_draws_an_image_run(tmp_path):
    """`ganlab figures RUN` on an image run: the final-sample grid, one row of samples per
    evaluation (--snapshots) and the loss curves, each as PNG and PDF; the grid holds the run's own
    pixels (tile puts sample k at row k // 10, column k % 10, rescaled from (−1, 1) to [0, 1])."""
    from ganlab.plots.images import tile

    out = tmp_path / "run"
    assert main(["train", "--preset", "mnist-mlp", *TINY, "--g-widths", "16,32", "--d-widths", "16",
                 "--snapshots", "5", "--out", str(out)]) == 0
    assert main(["figures", str(out)]) == 0
    names = sorted(p.name for p in (out / "figures").iterdir())
    assert names == [f"{n}.{e}" for n in ("image_curves", "image_samples", "image_snapshots") for e in ("pdf", "png")]
    x = np.load(out / "samples.npz")["samples"][0, :24]
    grid = tile(x, 10)
    assert grid.shape == (3 * 29 - 1, 10 * 29 - 1, 1)
    k = 13  # row 1, column 3
    assert np.allclose(grid[29:29 + 28, 3 * 29:3 * 29 + 28, 0], (x[k, 0] + 1) / 2)
    assert (grid[28, :, 0] == 1).all()  # the gap between rows
