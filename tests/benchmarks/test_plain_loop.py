"""benchmarks/plain_loop.py, the baseline of cli_speed.py: it must train what ganlab trains — the
same nets (parameter count of G and D), batch, noise and loss — or the speed ratio compares two
different jobs. The plain nets are written out in plain torch; ganlab's are batched models, so
the parameter count per member is the independent check of every layer's shape."""

import json
import math
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import cli_speed  # noqa: E402
import plain_loop  # noqa: E402

from ganlab.models import build_model  # noqa: E402
from ganlab.training.assembly import data_shape  # noqa: E402
from shared_data import shared_mnist_dir  # noqa: E402


def _ganlab_counts(cfg) -> tuple[int, int]:
    shape = data_shape(cfg)
    g = build_model(cfg.generator, (cfg.noise_dim,), shape, cfg.classes)
    d = build_model(cfg.discriminator, (shape[0] * cfg.method.pack, *shape[1:]), (1,), cfg.classes)
    counts = []
    for model, role in ((g, "g"), (d, "d")):
        params = model.init([0], role, torch.float32, "cpu")
        counts.append(sum(p[0].numel() for p in params.values()))
    return counts[0], counts[1]


def _plain_counts(spec) -> tuple[int, int]:
    gan = plain_loop.PlainGAN(spec)
    return (sum(p.numel() for p in gan.G.parameters()), sum(p.numel() for p in gan.D.parameters()))


@pytest.mark.parametrize("case", cli_speed.CASES, ids=lambda c: c.name)
def test_the_plain_loop_trains_the_presets_nets(case):
    data = shared_mnist_dir()
    if case.image and data is None:
        pytest.skip("no MNIST test split beside the checkout")
    cfg = cli_speed.preset_config(case)
    spec = json.loads(json.dumps(cli_speed.plain_spec(cfg, str(data) if case.image else None)))
    assert _plain_counts(spec) == _ganlab_counts(cfg)
    assert spec["method"]["batch_size"] == cfg.method.batch_size and spec["noise_dim"] == cfg.noise_dim


def test_a_plain_step_trains_with_the_spec_s_batch_and_changes_the_weights():
    cfg = cli_speed.preset_config(cli_speed.CASES[0])
    gan = plain_loop.PlainGAN(cli_speed.plain_spec(cfg, None))
    real, _ = gan.real()
    assert real.shape == (cfg.method.batch_size, 2) and real.dtype == torch.float32
    before = [p.detach().clone() for p in [*gan.G.parameters(), *gan.D.parameters()]]
    gan.step()
    after = [*gan.G.parameters(), *gan.D.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))


def test_the_mixture_sampler_draws_the_target_s_centres():
    cfg = cli_speed.preset_config(cli_speed.CASES[0])  # ring8: std 0.01 around 8 centres
    spec = cli_speed.plain_spec(cfg, None)
    x, k = plain_loop.Data(spec).batch(4000)
    centres = torch.tensor(spec["data"]["centres"], dtype=torch.float32)
    assert (x - centres[k]).std().item() == pytest.approx(spec["data"]["std"], rel=0.05)
    assert torch.bincount(k, minlength=8).min() > 4000 / 8 * 0.8
    assert math.isclose(centres.norm(dim=1).mean().item(), 1.0, rel_tol=1e-6)
