"""A cell's training budget, stated against its preset's (the published protocol's) budget."""

from __future__ import annotations

from typing import Any

from ..training.config import TrainConfig
from ..training.presets import PRESETS


def epochs(cfg: TrainConfig) -> float | None:
    """Passes over a fixed training set, counted as PacGAN counts them: batch_size samples per
    iteration (400,000 iterations × 100 / 100,000 = its 400 epochs); None without a fixed set."""
    if cfg.dataset_size is None:
        return None
    return cfg.steps * cfg.method.batch_size / cfg.dataset_size


def budget(preset: str, cfg: TrainConfig) -> dict[str, Any]:
    """steps, the preset's steps, their ratio, epochs where defined, and a sentence saying so."""
    full = PRESETS[preset](target=cfg.target)
    out: dict[str, Any] = {"steps": cfg.steps, "preset": preset, "preset_steps": full.steps,
                           "fraction": cfg.steps / full.steps, "epochs": epochs(cfg), "preset_epochs": epochs(full)}
    out["text"] = budget_text(out)
    return out


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.3g}"


def budget_text(b: dict[str, Any]) -> str:
    """e.g. "3,000 steps (the quick preset's budget)" or "10 of 400 epochs (10,000 of 400,000
    steps, 2.5 % of the pacgan preset's budget)"."""
    steps = f"{_num(b['steps'])} steps"
    if b["steps"] == b["preset_steps"]:
        return f"{steps} (the {b['preset']} preset's budget)"
    share = f"{_num(b['steps'])} of {_num(b['preset_steps'])} steps, {100 * b['fraction']:.3g} % of the " \
            f"{b['preset']} preset's budget"
    if b["epochs"] is not None and b["preset_epochs"] is not None:
        return f"{_num(b['epochs'])} of {_num(b['preset_epochs'])} epochs ({share})"
    return share
