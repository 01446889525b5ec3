"""Fixtures of the sweep tests: one torch thread, and a spec file writer."""

from pathlib import Path

import pytest
import torch

from sweep_helpers import spec_text


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def spec_file(tmp_path):
    def write(text: str = None, name: str = "sweep.toml") -> Path:
        p = tmp_path / name
        p.write_text(spec_text() if text is None else text)
        return p

    return write
