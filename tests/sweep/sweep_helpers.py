"""Tiny sweep specifications shared by the sweep tests (seconds each, one thread)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "benchmarks" / "protocols" / "tiny.toml"

# 2 targets × 2 variants (one with a 2-point grid) × 2 seeds: 4 cells, 6 table rows
SPEC = """
[sweep]
name = "test"
targets = ["ring8", "grid25"]
seeds = 2
steps = {steps}

[defaults]
batch_size = 32
eval_every = 10
eval_samples = 200
evaluators = ["modes", "w1"]
generator = {{ width = 16 }}
discriminator = {{ width = 16 }}

[[methods]]
method = "nonsaturating"
compare = ["lin2018:GAN"]

[[methods]]
method = "packed"
compare = ["lin2018:PacGAN2"]
[methods.grid]
lr_d = [1e-3, 2e-3]
"""


def spec_text(steps: int = 30) -> str:
    return SPEC.format(steps=steps)


