"""What every ganlab figure draws on: a ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot
state, no global backend change), saved as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

FORMATS = ("png", "pdf")


def figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, out: Path, name: str) -> list[Path]:
    """``fig`` as ``out/name.png`` and ``out/name.pdf`` (the folder made if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = out / f"{name}.{fmt}"
        fig.savefig(path, dpi=130 if fmt == "png" else None)
        paths.append(path)
    return paths
