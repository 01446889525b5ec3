"""benchmarks/dirac_figure.py draws a panel per method and schedule from a run (smoke test on a
short run)."""

import dataclasses
import importlib.util
from pathlib import Path

from ganlab.experiments.dirac import ARMS, SETTINGS, run_arms

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "dirac_figure.py"


def test_the_figure_has_a_panel_per_method_and_schedule(tmp_path):
    spec = importlib.util.spec_from_file_location("dirac_figure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    s = dataclasses.replace(SETTINGS["short"], steps=20, window=10, noise=50)
    lines = module.plot_dirac(run_arms(s, ARMS), tmp_path / "dirac.png")
    assert len(lines) == 2 * len(ARMS) and (tmp_path / "dirac.png").stat().st_size > 10_000
