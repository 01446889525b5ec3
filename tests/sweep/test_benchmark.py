"""benchmarks/mode_coverage.py: shard processes in parallel, merge, published rows, wall time,
and a rerun that resumes (here: skips every finished cell). Two process start-ups: marked slow."""

import json
import subprocess
import sys

import pytest

from sweep_helpers import ROOT

SCRIPT = ROOT / "benchmarks" / "mode_coverage.py"


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_benchmark_runs_shards_in_parallel_and_resumes(tmp_path):
    out = tmp_path / "tiny"
    first = _bench("--protocol", "tiny", "--shards", "2", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert "**Complete**: all 4 cells finished." in first.stdout
    assert "Lin et al. 2018 (PacGAN), Table 1: PacGAN2" in first.stdout and "wall time" in first.stdout
    logs = sorted(p.name for p in (out / "logs").iterdir())
    assert logs == ["shard-1-of-2.log", "shard-2-of-2.log"]
    again = _bench("--protocol", "tiny", "--shards", "2", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert (out / "logs" / "shard-1-of-2.log").read_text().count("already finished, skipped") == 2
    runs = [json.loads(line) for line in (out / "benchmark-runs.jsonl").read_text().splitlines()]
    assert [r["complete"] for r in runs] == [True, True] and all(r["shards"] == 2 for r in runs)


def test_an_unknown_protocol_is_one_line(tmp_path):
    r = _bench("--protocol", "nope", "--out", str(tmp_path / "x"))
    known = sorted(f.stem for f in (ROOT / "benchmarks" / "protocols").glob("*.toml"))
    assert r.returncode == 2 and f"unknown protocol 'nope'; known: {', '.join(known)} (or give" in r.stderr
    assert {"quick", "veegan", "pacgan", "tiny"} <= set(known) and r.stderr.count("\n") == 1
    assert not (tmp_path / "x").exists()
