"""Figures of a sweep folder or of one run folder (PNG and PDF; the animation as a GIF).

* ``samples``   final samples of one seed per cell over the target's density (method × target)
* ``coverage``  modes captured and high-quality share per method, ± s.e., published values marked
* ``curves``    modes captured (and W1, where evaluated during training) against the step
* ``snapshots`` one run's samples at steps through training, and ``training.gif`` animating them

A run folder keeps only its final samples and its last two checkpoints, so the snapshots come from
``replay``: it retrains one member of the run from its config.json with the public ``Trainer``
(a member depends on its seed and hyperparameters alone, so training it alone reproduces it) and
records samples of a fixed noise batch every few steps. Retraining costs the member's training
time, which for the small protocols is seconds to minutes; it needs no change to the engine and
no extra disk during the real run. At the end the replay's final samples are compared with the
run's samples.npz, and the figure says whether they matched bit for bit.

Everything draws on ``matplotlib.figure.Figure`` objects with the Agg canvas: no pyplot state, no
global backend change.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..training.config import Runtime, TrainConfig
from ..training.rundir import CONFIG, METRICS_JSONL, SAMPLES, SUMMARY, read_json
from ..theory.targets import make_target
from .canvas import figure, save

class FigureError(RuntimeError):
    """A figure that cannot be drawn from what the folder holds (the message says why)."""


# -- what to draw from -------------------------------------------------------------------------------------
@dataclass
class Entry:
    """One run folder: a cell of a sweep, or a lone run."""

    label: str
    target: str
    path: Path
    header: dict[str, Any]
    summary: dict[str, Any]
    compare: tuple[str, ...] = ()

    @property
    def background(self) -> "Background":
        return background(self.target, self.header["identity"].get("target_kwargs", {}))

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict({**self.header["identity"], "steps": self.header["steps"]})

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.path / SAMPLES) as z:
            return z["samples"], z["seeds"]

    def metrics(self) -> list[dict[str, Any]]:
        rows = []
        for line in (self.path / METRICS_JSONL).read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows


@dataclass
class Source:
    """A sweep folder (its finished cells and its table) or a single run folder."""

    path: Path
    entries: list[Entry]
    rows: list[Any] = field(default_factory=list)  # table.Row
    comparisons: list[Any] = field(default_factory=list)  # table.Comparison
    targets: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def _entry(path: Path, label: str | None = None, target: str | None = None, compare=()) -> Entry:
    header = read_json(path / CONFIG, "configuration")
    summary = read_json(path / SUMMARY, "summary")
    return Entry(label or header["label"], target or header["identity"]["target"], path, header, summary, tuple(compare))


def load(path: str | Path) -> Source:
    """Read a sweep folder (finished cells only) or a finished run folder."""
    from ..sweep.folder import SWEEP_JSON, SweepFolder
    from ..sweep.table import _rows, gather

    p = Path(path)
    if (p / SWEEP_JSON).is_file():
        table = gather(p)
        folder = SweepFolder.open(p)
        done = [c for c in folder.cells if folder.cell_status(c).done and (folder.cell_path(c["id"]) / SAMPLES).is_file()]
        if not done:
            raise FigureError(f"{str(p)!r}: no cell of this sweep has finished yet; nothing to draw")
        entries = [_entry(folder.cell_path(c["id"]), c["label"], c["target"], c["compare"]) for c in done]
        spec = folder.record["spec"]
        labels = list(dict.fromkeys(c["label"] for c in folder.cells))
        return Source(p, entries, table.rows, table.comparisons, list(spec["targets"]), labels)
    if (p / CONFIG).is_file():
        if not (p / SAMPLES).is_file():
            raise FigureError(f"{str(p)!r}: the run has not finished (no {SAMPLES}); finish it with "
                              f"`ganlab train --resume {p}`")
        e = _entry(p)
        from ..sweep.folder import summary_problem

        status = e.summary.get("status") if isinstance(e.summary, dict) else None
        why = summary_problem(e.summary, {"n_members": len(e.header["identity"]["members"]),
                                          "grid": e.header["identity"].get("grid", {})})
        if why or status != "finished":
            raise FigureError(f"{str(p / SUMMARY)!r} " + (f"is damaged ({why})" if why else f"says {status!r}, not "
                              f"finished; finish the run with `ganlab train --resume {p}`"))
        if e.target not in _image_datasets() and \
                not make_target(e.target, **e.header["identity"].get("target_kwargs", {})).has_density:
            raise FigureError(f"{str(p)!r} trained on the sample-only target {e.target!r}: these figures draw samples "
                              "over the target's density and count its modes, and it has neither")
        cell = {"target": e.target, "label": e.label, "seeds": e.header["identity"]["seeds"], "compare": [],
                "steps": e.header["steps"], "variant": 0}
        return Source(p, [e], _rows(cell, e.summary), [], [e.target], [e.label])
    raise FigureError(f"{str(p)!r} is neither a sweep folder (sweep.json) nor a run folder (config.json)")


# -- drawing helpers ---------------------------------------------------------------------------------------
def extent(target) -> tuple[float, float, float, float]:
    """A square box around the target's modes with a margin of a quarter of its span."""
    c = target.centres.numpy()
    lo, hi = c.min(axis=0), c.max(axis=0)
    span = float(max(hi - lo)) or 1.0
    mid = (lo + hi) / 2
    half = span / 2 + span / 4 + 4 * float(target.mode_stds.max())
    return mid[0] - half, mid[0] + half, mid[1] - half, mid[1] + half


@dataclass(frozen=True)
class Background:
    """A target's exact log-density on a grid fine enough to draw a mode's 3-std circle (half its
    smallest std per pixel, at most 1,000 per side), computed once per target."""

    target: Any
    box: tuple[float, float, float, float]
    xs: np.ndarray
    ys: np.ndarray
    logp: np.ndarray
    levels: tuple[float, float]  # log-density 3 and 1 std from a centre (isotropic modes)


@functools.lru_cache(maxsize=8)
def _background(name: str, kwargs_json: str) -> Background:
    target = make_target(name, **json.loads(kwargs_json))
    box = extent(target)
    x0, x1, y0, y1 = box
    res = int(min(1000, max(200, math.ceil((x1 - x0) / (float(target.mode_stds.min()) / 2)))))
    xs, ys = np.linspace(x0, x1, res), np.linspace(y0, y1, res)
    grid = torch.as_tensor(np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2))
    logp = np.concatenate([target.log_prob(chunk).numpy() for chunk in grid.split(1 << 18)]).reshape(res, res)
    top = float(target.log_prob(target.centres).max())
    return Background(target, box, xs, ys, logp, (top - 9 / 2, top - 1 / 2))


def background(name: str, kwargs: dict[str, Any] | None = None) -> Background:
    return _background(name, json.dumps(kwargs or {}, sort_keys=True))


def draw_density(ax, bg: Background) -> None:
    """Shaded within 3 std of a mode (the high-quality region), with the 1-std contour."""
    ax.contourf(bg.xs, bg.ys, bg.logp, levels=[bg.levels[0], np.inf], colors=["#f2c14e"], alpha=0.55)
    ax.contour(bg.xs, bg.ys, bg.logp, levels=[bg.levels[1]], colors=["#b8860b"], linewidths=0.6)
    x0, x1, y0, y1 = bg.box
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _inside(bg: Background, x: np.ndarray) -> np.ndarray:
    x0, x1, y0, y1 = bg.box
    return (x[:, 0] >= x0) & (x[:, 0] <= x1) & (x[:, 1] >= y0) & (x[:, 1] <= y1)


def draw_samples(ax, bg: Background, x: np.ndarray, title: str | None = None) -> None:
    draw_density(ax, bg)
    inside = _inside(bg, x)
    ax.scatter(x[inside, 0], x[inside, 1], s=1.5, c="#1f4e9a", alpha=0.5, linewidths=0, rasterized=True)
    if (~inside).any():
        ax.text(0.02, 0.02, f"{int((~inside).sum())} outside", transform=ax.transAxes, fontsize=6, color="#a00")
    if title:
        ax.set_title(title, fontsize=7)


def _member_metrics(e: Entry, member: int) -> str:
    """e.g. "seed 0, lr_d = 0.001: 7 modes, 80 % HQ" from the run's summary."""
    m = e.summary["members"][member]
    who = f"seed {m['seed']}" + "".join(f", {k} = {m[k]:g}" for k in sorted(e.header["identity"].get("grid", {})))
    if not m.get("alive", True):
        return f"{who}: diverged"
    modes, hq = m.get("modes_captured"), m.get("high_quality_fraction")
    return who if modes is None else f"{who}: {modes:.0f} modes, {100 * hq:.0f} % HQ"


# -- the figures ---------------------------------------------------------------------------------------------
def samplesfigure(src: Source, out: Path, seed_index: int = 0) -> list[Path]:
    """Final samples of one seed per cell over the target density: a row per method, a column
    per target."""
    by = {(e.label, e.target): e for e in src.entries}
    labels = [lab for lab in src.labels if any(k[0] == lab for k in by)]
    fig = figure(1.9 * len(src.targets) + 1.2, 1.9 * len(labels) + 0.4)
    axes = fig.subplots(len(labels), len(src.targets), squeeze=False)
    for j, t in enumerate(src.targets):
        for i, lab in enumerate(labels):
            ax = axes[i, j]
            e = by.get((lab, t))
            if e is None:
                ax.set_axis_off()
                ax.text(0.5, 0.5, "not finished", ha="center", va="center", fontsize=7, transform=ax.transAxes)
                continue
            x, _ = e.samples()
            k = min(seed_index, x.shape[0] - 1)
            draw_samples(ax, e.background, x[k], _member_metrics(e, k))
            if j == 0:
                ax.set_ylabel(lab, fontsize=7)
            if i == 0:
                ax.text(0.5, 1.18, t, ha="center", fontsize=9, transform=ax.transAxes, weight="bold")
    fig.suptitle("Final samples over the target (shaded: within 3 std of a mode)", fontsize=9)
    return save(fig, out, "samples")


def coveragefigure(src: Source, out: Path) -> list[Path]:
    """Modes captured and high-quality share per method (mean ± s.e.), with published values."""
    fig = figure(max(5.0, 0.55 * len(src.labels) + 2.5) * 2, 2.6 * len(src.targets) + 0.6)
    axes = fig.subplots(len(src.targets), 2, squeeze=False)
    markers = ["D", "s", "^", "v", "P"]
    for i, t in enumerate(src.targets):
        rows = [r for r in src.rows if r.target == t]
        names = [r.label + (f"\n{r.grid_text}" if r.hyper else "") for r in rows]
        for j, (key, title) in enumerate((("modes_captured", "modes captured"),
                                          ("high_quality_pct", "high-quality samples (%)"))):
            ax = axes[i, j]
            xs = np.arange(len(rows))
            mean = [r.stats[key].mean if key in r.stats else np.nan for r in rows]
            se = [r.stats[key].se if key in r.stats and r.stats[key].se is not None else 0 for r in rows]
            ax.errorbar(xs, mean, yerr=se, fmt="o", color="#1f4e9a", capsize=3, label="ours (± s.e.)")
            sources: dict[str, str] = {}
            for c in src.comparisons:
                if c.row.target != t or key not in c.published.values:
                    continue
                x = rows.index(c.row)
                v = c.published.values[key]
                m = sources.setdefault(c.published.source.citation, markers[len(sources) % len(markers)])
                like = not c.caveats  # same protocol and budget: drawn as a peer; else grey, and the legend says so
                ax.errorbar(x + 0.15, v.mean, yerr=v.se or 0, fmt=m, color="#c0392b" if like else "#8c8c8c",
                            mfc="none", capsize=2, label=_published_label(c))
            if key == "modes_captured":
                ax.axhline(make_target(t).n_modes, color="grey", lw=0.6, ls="--")
            ax.set_xticks(xs, names, rotation=40, ha="right", fontsize=6)
            ax.set_title(f"{t}: {title}", fontsize=8)
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=min(len(legend), 2), fontsize=6)
    fig.suptitle(budget_caption(src), fontsize=7)
    return save(fig, out, "coverage")


def _other_protocol(c) -> bool:
    """Whether a comparison's caveats (``published.caveats``) say the protocol differs, not only the budget."""
    return any(k.startswith("protocol differs") for k in c.caveats)


def _published_label(c) -> str:
    """A published marker's legend entry: the paper, and whether its protocol and budget are ours."""
    s = c.published.source
    if not c.caveats:
        return f"{s.citation} (same protocol and budget)"
    theirs = f"{s.steps:,} iterations" if s.steps else "budget unstated"
    return f"{s.citation}: {theirs}, {'other protocol' if _other_protocol(c) else 'other budget'}"


def budget_caption(src: Source) -> str:
    """What budget our runs had beside each published source's, for the figure itself, e.g.
    "ours: 2,000 steps per run = 0.5 % of the 400,000 iterations of Lin et al. 2018 (PacGAN), Table 1
    (another protocol: their nets and optimiser)"."""
    ours = sorted({r.cell["steps"] for r in src.rows})
    steps = f"{ours[0]:,}" if len(ours) == 1 else f"{ours[0]:,}–{ours[-1]:,}"
    parts, seen = [], set()
    for c in src.comparisons:
        s = c.published.source
        if s.key in seen:
            continue
        seen.add(s.key)
        if s.steps:
            share = 100 * max(ours) / s.steps
            text = f"{share:.2g} % of the {s.steps:,} iterations of {s.citation}"
        else:
            text = f"budget of {s.citation} unstated"
        other = _other_protocol(c)
        parts.append(text + (" (another protocol: their nets and optimiser)" if other else ""))
    head = f"ours: {steps} steps per run"
    return head + (" = " + "; ".join(parts) if parts else "")


def _curve(rows: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    steps = sorted({r["step"] for r in rows if r.get(key) is not None})
    mean, se = [], []
    for s in steps:
        v = np.array([r[key] for r in rows if r["step"] == s and r.get("alive", True) and r.get(key) is not None],
                     dtype=float)
        mean.append(v.mean() if v.size else np.nan)
        se.append(v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0.0)
    return np.array(steps), np.array(mean), np.array(se)


def _series(e: Entry) -> list[tuple[str, list[dict[str, Any]]]]:
    """(legend label, metrics rows) per grid point of a run (one series without a grid)."""
    rows, keys = e.metrics(), sorted(e.header["identity"].get("grid", {}))
    if not keys:
        return [(e.label, rows)]
    points = list(dict.fromkeys(tuple(r.get(k) for k in keys) for r in rows))
    return [(e.label + " (" + ", ".join(f"{k} = {v:g}" for k, v in zip(keys, pt)) + ")",
             [r for r in rows if tuple(r.get(k) for k in keys) == pt]) for pt in points]


def curvesfigure(src: Source, out: Path) -> list[Path]:
    """Modes captured, and W1 where the run evaluated it during training, against the step:
    mean ± s.e. over live seeds, one line per method and grid point."""
    series = {id(e): _series(e) for e in src.entries}
    keys = [("modes_captured", "modes captured")]
    if any(r.get("w1") is not None for e in src.entries for _, rows in series[id(e)] for r in rows):
        keys.append(("w1", "W1 to target"))
    fig = figure(4.2 * len(keys) + 1.8, 2.8 * len(src.targets) + 0.4)
    axes = fig.subplots(len(src.targets), len(keys), squeeze=False)
    for i, t in enumerate(src.targets):
        for j, (key, title) in enumerate(keys):
            ax = axes[i, j]
            for e in [e for e in src.entries if e.target == t]:
                for name, rows in series[id(e)]:
                    steps, mean, se = _curve(rows, key)
                    if steps.size:
                        line, = ax.plot(steps, mean, marker="o", ms=2, lw=1, label=name)
                        ax.fill_between(steps, mean - se, mean + se, color=line.get_color(), alpha=0.15, lw=0)
            ax.set_title(f"{t}: {title} (mean ± s.e. over seeds)", fontsize=8)
            ax.set_xlabel("step", fontsize=7)
            ax.tick_params(labelsize=6)
            if not ax.lines:
                ax.text(0.5, 0.5, f"{key} was not evaluated during training", ha="center", va="center",
                        fontsize=7, transform=ax.transAxes)
        if axes[i, -1].lines:
            axes[i, -1].legend(fontsize=5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return save(fig, out, "curves")


# -- replay: samples through training ---------------------------------------------------------------------
@dataclass
class Replay:
    entry: Entry
    seed: int
    hyper: dict[str, float]
    steps: list[int]
    frames: list[np.ndarray]  # samples of one fixed noise batch at each step
    matches_run: bool | None  # final samples equal to samples.npz (None: not replayed to the end)
    max_gap: float | None
    trajectory: list[dict[str, float]] = field(default_factory=list)  # modes, HQ %, W1 of each frame


def replay(entry: Entry, *, seed: int | None = None, member: int | None = None, frames: int = 24,
           n: int = 1000, until: int | None = None) -> Replay:
    """Retrain one member of the run (the first, or the one with ``seed``) alone and record n
    samples of one fixed noise batch at ``frames`` evenly spaced steps from 0 to ``until`` (default:
    the run's steps). Evaluations happen at the run's steps, as in the run, so that a diverging
    member falls back exactly as it did."""
    from ..training.engine import Trainer

    cfg = entry.config
    members = cfg.members()
    member = member_of(entry, seed) if member is None else member
    mb = members[member]
    alone = dataclasses.replace(cfg, seeds=(mb.seed,), grid={}, method=cfg.member_method(mb))
    until = cfg.steps if until is None else min(until, cfg.steps)
    if frames < 2:
        raise FigureError(f"frames must be at least 2, got {frames}")
    at = sorted({round(k * until / (frames - 1)) for k in range(frames)})
    runtime = entry.header["segments"][0]["runtime"]
    t = Trainer(alone, Runtime(dtype=runtime.get("dtype", "float32"), progress=False))
    shots = []
    for step in range(until + 1):
        if cfg.evaluates_at(step):
            t.evaluate(evaluators=())
        if step in at:
            shots.append(t.generate(n, purpose="snapshot", step=0)[0].double().cpu().numpy())
        if step < until:
            t.train_step()
    matches, gap = None, None
    if until == cfg.steps:
        mine = t.final_samples()[0].float().cpu().numpy()
        theirs = entry.samples()[0][member]
        matches = bool(np.array_equal(mine, theirs))
        gap = float(np.abs(mine - theirs).max())
    return Replay(entry, mb.seed, dict(mb.hyper), at, shots, matches, gap,
                  [frame_metrics(entry.background, x) for x in shots])


def frame_metrics(bg: "Background", x: np.ndarray) -> dict[str, float]:
    """Modes captured, high-quality % and exact W1 (to as many target samples, a fixed draw) of
    one frame; NaN for non-finite samples."""
    from ..metrics.modes import mode_metrics
    from ..metrics.wasserstein import w1_to_target

    if not np.isfinite(x).all():
        return {"modes_captured": math.nan, "high_quality_pct": math.nan, "w1": math.nan}
    m = mode_metrics(x, bg.target)
    return {"modes_captured": float(m.modes_captured), "high_quality_pct": 100 * m.high_quality_fraction,
            "w1": w1_to_target(x, bg.target, n=x.shape[0], seed=0)}


def member_of(entry: Entry, seed: int | None) -> int:
    """The index of the (first) member trained with ``seed``; the first member when None."""
    seeds = entry.header["identity"]["seeds"]
    if seed is None:
        return 0
    if seed not in seeds:
        raise FigureError(f"seed {seed} is not a seed of {str(entry.path)!r} (seeds {seeds})")
    return next(i for i, m in enumerate(entry.header["identity"]["members"]) if m["seed"] == seed)


def _replay_note(r: Replay) -> str:
    if r.matches_run is None:
        return "replayed part of the run"
    if r.matches_run:
        return "replay matches the run's final samples bit for bit"
    return f"replay DIFFERS from the run's final samples (max |Δ| {r.max_gap:.3g}): other versions or device"


def snapshotsfigure(r: Replay, out: Path, panels: int = 6) -> list[Path]:
    """Samples at ``panels`` steps through the replayed run, and below them its modes captured
    and W1 to the target at every recorded step."""
    bg = r.entry.background
    pick = sorted({round(k * (len(r.steps) - 1) / (panels - 1)) for k in range(panels)})
    fig = figure(1.9 * len(pick) + 0.3, 4.4)
    gs = fig.add_gridspec(2, len(pick), height_ratios=[1.0, 0.75])
    for col, k in enumerate(pick):
        x = r.frames[k]
        t = r.trajectory[k]
        stats = "non-finite" if math.isnan(t["w1"]) else \
            f"{t['modes_captured']:.0f} modes, {t['high_quality_pct']:.0f} % HQ"
        draw_samples(fig.add_subplot(gs[0, col]), bg, x, f"step {r.steps[k]:,}: {stats}")
    ax = fig.add_subplot(gs[1, :])
    ax.plot(r.steps, [t["modes_captured"] for t in r.trajectory], "o-", ms=2, color="#1f4e9a", label="modes captured")
    ax.set_ylabel("modes captured", fontsize=7, color="#1f4e9a")
    ax.set_ylim(-0.5, bg.target.n_modes + 0.5)
    ax.set_xlabel("step", fontsize=7)
    right = ax.twinx()
    right.plot(r.steps, [t["w1"] for t in r.trajectory], "s-", ms=2, color="#c0392b", label="W1 to target")
    right.set_ylabel("W1 to target", fontsize=7, color="#c0392b")
    for a in (ax, right):
        a.tick_params(labelsize=6)
    hyper = "".join(f", {k} = {v:g}" for k, v in r.hyper.items())
    fig.suptitle(f"{r.entry.label} on {r.entry.target}, seed {r.seed}{hyper}: {len(r.frames[0]):,} samples of one "
                 f"fixed noise batch ({_replay_note(r)})", fontsize=8)
    return save(fig, out, "snapshots")


def training_gif(r: Replay, out: Path, fps: int = 6) -> Path:
    """An animated GIF of the replayed samples (matplotlib's PillowWriter: needs Pillow)."""
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise FigureError("the animated GIF needs Pillow, which is not installed (pip install pillow); the other "
                          "figures were written") from None
    from matplotlib.animation import PillowWriter

    bg = r.entry.background
    fig = figure(3.4, 3.6)
    ax = fig.subplots()
    draw_density(ax, bg)  # once: only the samples and the title change between frames
    dots = ax.scatter([], [], s=1.5, c="#1f4e9a", alpha=0.5, linewidths=0)
    title = ax.set_title("", fontsize=7)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "training.gif"
    writer = PillowWriter(fps=fps)
    with writer.saving(fig, str(path), dpi=90):
        for step, x, t in zip(r.steps, r.frames, r.trajectory):
            dots.set_offsets(x[_inside(bg, x)])
            title.set_text(f"{r.entry.label} on {r.entry.target}, seed {r.seed}\nstep {step:,}: {_frame_stats(t)}")
            writer.grab_frame()
    return path


def _frame_stats(t: dict[str, float]) -> str:
    if math.isnan(t["w1"]):
        return "non-finite samples"
    return f"{t['modes_captured']:.0f} modes, {t['high_quality_pct']:.0f} % HQ, W1 {t['w1']:.3g}"


def make_figures(path: str | Path, out: str | Path | None = None, *, cell: str | None = None, seed: int | None = None,
                 frames: int = 24, until: int | None = None, replay_run: bool = True,
                 log=print) -> list[Path]:
    """Every figure of a sweep or run folder into ``out`` (default: PATH/figures)."""
    src = load(path)
    if len(src.entries) == 1 and src.targets[0] in _image_datasets():  # an image run: grids and curves
        from .images import image_figures

        e = src.entries[0]
        return image_figures(e.path, Path(out) if out is not None else src.path / "figures", e.label)
    if replay_run:  # the replayed run is chosen (and checked) before anything is drawn
        entry = _pick(src, cell)
        member = member_of(entry, seed)
    elif cell is not None or seed is not None:
        raise FigureError("--cell and --seed choose the replayed run; they do nothing without the replay")
    out = Path(out) if out is not None else src.path / "figures"
    written = samplesfigure(src, out) + coveragefigure(src, out) + curvesfigure(src, out)
    if replay_run:
        log(f"replaying {entry.label} on {entry.target}, seed {entry.header['identity']['members'][member]['seed']}, "
            "for the snapshots (retrains one member)")
        r = replay(entry, member=member, frames=frames, until=until)
        log(_replay_note(r))
        written += snapshotsfigure(r, out)
        written.append(training_gif(r, out))
    return written


def _image_datasets() -> set[str]:
    from ..data.images import DATASETS

    return set(DATASETS)


def _pick(src: Source, cell: str | None) -> Entry:
    if cell is None:
        return src.entries[0]
    for e in src.entries:
        if e.path.name == cell:
            return e
    raise FigureError(f"no finished cell {cell!r} in {str(src.path)!r}; finished: "
                      f"{', '.join(e.path.name for e in src.entries)}")
