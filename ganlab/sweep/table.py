"""The merge: every cell's summary.json into one table, beside the published results.

One row per (target, method, grid point): mean ± standard error over the seeds that did not
diverge, with their number n, for modes captured, high-quality share (per cent), reverse KL and W1
to the target, and how many seeds diverged. The table is written as table.md, table.csv and
table.json in the sweep folder; it never calls itself complete while a cell is missing or
unfinished, and then names each such cell with the shard that owns it.

The markdown and CSV hold nothing that depends on where or when the sweep ran (no paths, dates or
timings), so the same sweep gives the same bytes however it was sharded; table.json keeps dates,
versions and per-cell training times under "generated" and "timing".
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..training.rundir import CONFIG, atomic_write, json_text, now, read_json, versions
from . import EXIT_INCOMPLETE  # noqa: F401  (re-exported for the benchmark)
from .folder import SweepFolder
from .published import RULE, Value, caveats, compare, published_for, source_dict
from .spec import Shard

# summary key → (table key, heading, scale)
METRICS: dict[str, tuple[str, str, float]] = {
    "modes_captured": ("modes_captured", "modes captured", 1.0),
    "high_quality_fraction": ("high_quality_pct", "high-quality %", 100.0),
    "reverse_kl": ("reverse_kl", "reverse KL", 1.0),
    "w1": ("w1", "W1 to target", 1.0),
}
COLUMNS = [v[0] for v in METRICS.values()]
HEADINGS = {v[0]: v[1] for v in METRICS.values()}


@dataclass(frozen=True)
class Stat:
    mean: float
    se: float | None
    n: int

    def text(self, n_row: int | None = None) -> str:
        se = "?" if self.se is None or not math.isfinite(self.se) else f"{self.se:.2g}"
        extra = f" (n = {self.n})" if n_row is not None and self.n != n_row else ""
        return f"{self.mean:.3g} ± {se}{extra}"


@dataclass
class Row:
    target: str
    label: str
    hyper: dict[str, float]
    cell: dict[str, Any]
    n_seeds: int
    n_diverged: int
    stats: dict[str, Stat]

    @property
    def n(self) -> int:
        """Seeds that count: those that did not diverge."""
        return self.n_seeds - self.n_diverged

    @property
    def grid_text(self) -> str:
        return ", ".join(f"{k} = {v:g}" for k, v in self.hyper.items())


@dataclass
class Comparison:
    row: Row
    published: Any  # published.Published
    verdicts: dict[str, Any]  # metric → Verdict | None
    caveats: list[str]


@dataclass
class Missing:
    cell: dict[str, Any]
    status: Any  # folder.CellStatus
    shard: str | None


@dataclass
class Table:
    name: str
    description: str
    cells_total: int
    rows: list[Row] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    trained_with: dict[str, list[str]] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing


# -- gathering ---------------------------------------------------------------------------------------------
def _stat(agg: dict[str, Any] | None, scale: float) -> Stat | None:
    if not agg or agg.get("mean") is None:
        return None
    se = agg.get("stderr")
    return Stat(agg["mean"] * scale, None if se is None else se * scale, int(agg["n"]))


def _rows(cell: dict[str, Any], summary: dict[str, Any]) -> list[Row]:
    out = []
    for group in summary.get("groups", []):
        agg = group.get("aggregate", {})
        stats = {key: s for name, (key, _, scale) in METRICS.items() if (s := _stat(agg.get(name), scale))}
        out.append(Row(cell["target"], cell["label"], group.get("hyper", {}), cell, len(cell["seeds"]),
                       int(group.get("n_diverged", 0)), stats))
    return out


def _shard_of(index: int, records: list[dict[str, Any]]) -> str | None:
    """The shard (of the latest layout any shard ran under) that owns cell ``index``."""
    if not records:
        return None
    n = int(records[-1]["n"])
    return str(next(Shard(i, n) for i in range(1, n + 1) if Shard(i, n).owns(index)))


def gather(path: str | Path) -> Table:
    """Read a sweep folder into a Table (nothing written). Refuses a foreign or edited folder."""
    from .folder import SweepFolderError

    folder = SweepFolder.open(path)
    foreign = folder.foreign_cells()
    if foreign:
        raise SweepFolderError(f"{str(folder.path / 'cells')!r} holds folders that are not cells of this sweep: "
                               f"{', '.join(foreign[:5])}; move them away before merging")
    spec = folder.record["spec"]
    shards = folder.shard_records()
    table = Table(spec["name"], spec.get("description", ""), len(folder.cells), record=folder.record)
    by_target: dict[str, list[Row]] = {t: [] for t in spec["targets"]}
    for cell in folder.cells:
        status = folder.cell_status(cell)
        if not status.done:
            table.missing.append(Missing(cell, status, _shard_of(cell["index"], shards)))
            continue
        by_target[cell["target"]] += _rows(cell, folder.summary(cell))
        _trained_with(table.trained_with, folder.cell_path(cell["id"]) / CONFIG)
    for target in spec["targets"]:  # target-major, then the variants' order (cells are variant-major)
        table.rows += sorted(by_target[target], key=lambda r: r.cell["variant"])
    table.comparisons = [c for r in table.rows for c in _comparisons(r)]
    table.timing = _timing(shards)
    return table


def _trained_with(acc: dict[str, list[str]], config: Path) -> None:
    for seg in read_json(config, "configuration").get("segments", []):
        for pkg in ("torch", "numpy", "pot", "ganlab", "python"):
            v = seg.get("versions", {}).get(pkg)
            if v is not None and v not in acc.setdefault(pkg, []):
                acc[pkg].append(v)


def _comparisons(row: Row) -> list[Comparison]:
    out = []
    for key in row.cell["compare"]:
        p = published_for(key, row.target)
        if p is None:
            continue
        verdicts = {}
        for metric in COLUMNS:
            ours = row.stats.get(metric)
            theirs: Value | None = p.values.get(metric)
            verdicts[metric] = None if ours is None else compare(ours.mean, ours.se, ours.n, theirs)
        out.append(Comparison(row, p, verdicts, caveats(p.source, row.cell["preset"], row.cell["steps"], row.target)))
    return out


def _timing(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds each cell trained, summed over the shard processes that worked on it."""
    cells: dict[str, float] = {}
    for rec in shards:
        for cid, res in rec.get("results", {}).items():
            cells[cid] = cells.get(cid, 0.0) + float(res.get("seconds") or 0.0)
    return {"cell_seconds": cells, "total_cell_seconds": sum(cells.values()),
            "shard_processes": [{k: r.get(k) for k in ("shard", "host", "pid", "started", "updated", "finished")}
                                for r in shards]}


# -- rendering ---------------------------------------------------------------------------------------------
def _value_text(v: Value | None) -> str:
    if v is None:
        return "—"
    return f"{v.mean:g}" if v.se is None else f"{v.mean:g} ± {v.se:g}"


def _status_line(t: Table) -> str:
    if t.complete:
        return f"**Complete**: all {t.cells_total} cells finished."
    done = t.cells_total - len(t.missing)
    return (f"**INCOMPLETE: {done} of {t.cells_total} cells finished. This is not the sweep's table**; "
            "missing or unfinished:")


def missing_lines(t: Table) -> list[str]:
    out = []
    for m in t.missing:
        c = m.cell
        shard = f"shard {m.shard}" if m.shard else "no shard has run yet"
        out.append(f"- cell {c['index']} `{c['id']}` ({c['label']} on {c['target']}): {m.status.describe()}; "
                   f"{shard}")
    return out


def markdown(t: Table) -> str:
    spec = t.record["spec"]
    seeds = spec["seeds"]
    lines = [f"# Mode coverage: {t.name}", ""]
    if t.description:
        lines += [t.description, ""]
    lines += [_status_line(t), *missing_lines(t), ""]
    lines += [f"{len(seeds)} seeds per cell ({_seed_text(seeds)}), {spec['dtype']}. Mean ± standard error over the "
              "seeds that did not diverge; n counts them, and a metric with fewer values says so (reverse KL is "
              "undefined for a seed without high-quality samples). A sample is high quality within 3 standard "
              "deviations of its nearest mode; a mode is captured when it is nearest to at least one high-quality "
              "sample (PacGAN's definitions, `ganlab.metrics.modes`).", ""]
    lines += ["| target | method | grid | steps | n | diverged | " + " | ".join(HEADINGS[k] for k in COLUMNS) + " |",
              "|" + "---|" * (6 + len(COLUMNS))]
    for r in t.rows:
        vals = [r.stats[k].text(r.n) if k in r.stats else "—" for k in COLUMNS]
        lines.append(f"| {r.target} | {r.label} | {r.grid_text} | {r.cell['steps']:,} | {r.n} | {r.n_diverged} | "
                     + " | ".join(vals) + " |")
    if t.comparisons:
        lines += ["", "## Beside the published results", "",
                  f"Rule: {RULE}. Published high-quality shares are in per cent, as printed.", "",
                  "| target | method | whose | " + " | ".join(HEADINGS[k] for k in COLUMNS[:3]) + " | not like for like |",
                  "|---|---|---|---|---|---|---|"]
        for c in t.comparisons:
            r, p = c.row, c.published
            ours = [r.stats[k].text(r.n) if k in r.stats else "—" for k in COLUMNS[:3]]
            theirs = [_value_text(p.values.get(k)) for k in COLUMNS[:3]]
            verdict = [v.text if (v := c.verdicts.get(k)) is not None else "—" for k in COLUMNS[:3]]
            lines += [f"| {r.target} | {r.label}{' (' + r.grid_text + ')' if r.hyper else ''} | ours, n = {r.n} | "
                      + " | ".join(ours) + " | |",
                      f"| | | {p.source.citation}: {p.method} | " + " | ".join(theirs) + " | "
                      + ("; ".join(c.caveats) or "same protocol and budget") + " |",
                      "| | | ours vs theirs | " + " | ".join(verdict) + " | |"]
        lines += ["", "Sources:"]
        for s in _sources(t):
            lines.append(f"- {s['citation']}: {s['protocol']}; {s['trials'] or 'unstated'} trials, "
                         f"{s['samples']:,} samples; ± is {s['pm']}.{' ' + s['notes'] if s['notes'] else ''}")
    settings = [_settings(v) for v in spec["variants"]]
    common = dict(set.intersection(*(set(s.items()) for s in settings))) if settings else {}
    lines += ["", "Variants" + (f" (all: {_pairs(common)})" if common else "") + ":"]
    for v, s in zip(spec["variants"], settings):
        lines.append(f"- {_variant_text(v, {k: x for k, x in s.items() if k not in common}, t.record['cells'])}")
    lines += ["", "Versions: " + _versions_text(t)]
    return "\n".join(lines) + "\n"


def _seed_text(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ", ".join(map(str, seeds))


def _settings(v: dict[str, Any]) -> dict[str, str]:
    """What a variant sets, as printable key → value (the preset, the method, every override)."""
    over = {"preset": v["preset"], **({"method": v["method"]} if v["method"] else {}),
            **v["method_overrides"], **v["train_overrides"],
            **{f"generator.{k}": x for k, x in v["generator"].items()},
            **{f"discriminator.{k}": x for k, x in v["discriminator"].items()},
            **{f"grid.{k}": "{" + ", ".join(f"{y:g}" for y in vals) + "}" for k, vals in v["grid"].items()}}
    over.pop("steps", None)  # stated by the budget
    return {k: (", ".join(map(str, x)) if isinstance(x, list) else str(x)) for k, x in over.items()}


def _pairs(d: dict[str, str]) -> str:
    return ", ".join(f"{k} = {x}" for k, x in sorted(d.items()))


def _variant_text(v: dict[str, Any], settings: dict[str, str], cells: list[dict[str, Any]]) -> str:
    cell = next(c for c in cells if c["variant"] == v["index"])
    own = f"{_pairs(settings)}; " if settings else ""
    return f"**{cell['label']}**: {own}budget {cell['budget']['text']}"


def _sources(t: Table) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for c in t.comparisons:
        seen.setdefault(c.published.source.key, source_dict(c.published.source))
    return list(seen.values())


def _versions_text(t: Table) -> str:
    v = t.record.get("versions", {})
    made = ", ".join(f"{k} {v[k]}" for k in ("ganlab", "torch", "numpy", "pot", "python") if k in v)
    mixed = {k: vs for k, vs in t.trained_with.items() if len(vs) > 1}
    note = ("; cells were trained under several versions: " + "; ".join(f"{k} {', '.join(vs)}" for k, vs in mixed.items())
            if mixed else "")
    return f"sweep created with {made}{note}."


def csv_text(t: Table) -> str:
    """Our rows (source "ours") and the published rows beside them (source = their key, with the
    verdict of ours against them per metric)."""
    buf = io.StringIO()
    fields = ["source", "target", "method", "grid", "steps", "n_seeds", "n", "n_diverged"]
    for k in COLUMNS:
        fields += [f"{k}_mean", f"{k}_se", f"{k}_n"]
    fields += [f"{k}_verdict" for k in COLUMNS[:3]] + ["caveats"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in t.rows:
        row = {"source": "ours", "target": r.target, "method": r.label, "grid": r.grid_text, "steps": r.cell["steps"],
               "n_seeds": r.n_seeds, "n": r.n, "n_diverged": r.n_diverged}
        for k, s in r.stats.items():
            row.update({f"{k}_mean": _num(s.mean), f"{k}_se": _num(s.se), f"{k}_n": s.n})
        w.writerow(row)
    for c in t.comparisons:
        p, r = c.published, c.row
        row = {"source": p.key, "target": r.target, "method": r.label, "grid": r.grid_text, "n": p.source.trials or "",
               "caveats": "; ".join(c.caveats)}
        for k, v in p.values.items():
            row.update({f"{k}_mean": _num(v.mean), f"{k}_se": _num(v.se)})
        for k, v in c.verdicts.items():
            if v is not None and k in COLUMNS[:3]:
                row[f"{k}_verdict"] = "no verdict" if v.outside is None else ("outside" if v.outside else "within")
        w.writerow(row)
    return buf.getvalue()


def _num(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else repr(float(x))


def as_json(t: Table) -> dict[str, Any]:
    def stat(s: Stat) -> dict[str, Any]:
        return {"mean": s.mean, "se": s.se, "n": s.n}

    return {
        "name": t.name, "description": t.description, "complete": t.complete, "cells_total": t.cells_total,
        "cells_done": t.cells_total - len(t.missing), "fingerprint": t.record["fingerprint"],
        "missing": [{"index": m.cell["index"], "id": m.cell["id"], "state": m.status.state, "step": m.status.step,
                     "steps": m.status.steps, "shard": m.shard} for m in t.missing],
        "rows": [{"target": r.target, "method": r.label, "cell": r.cell["id"], "hyper": r.hyper, "steps": r.cell["steps"],
                  "budget": r.cell["budget"], "n_seeds": r.n_seeds, "n": r.n, "n_diverged": r.n_diverged,
                  "metrics": {k: stat(s) for k, s in r.stats.items()}} for r in t.rows],
        "comparisons": [{"target": c.row.target, "method": c.row.label, "hyper": c.row.hyper, "published": c.published.key,
                         "theirs": {k: {"mean": v.mean, "se": v.se} for k, v in c.published.values.items()},
                         "verdicts": {k: None if v is None else {"outside": v.outside, "text": v.text}
                                      for k, v in c.verdicts.items()},
                         "caveats": c.caveats} for c in t.comparisons],
        "rule": RULE, "sources": _sources(t),
        "versions": t.record.get("versions", {}), "trained_with": t.trained_with,
        "generated": {"at": now(), "versions": versions()},
        "timing": t.timing,
    }


def write(t: Table, path: str | Path) -> list[Path]:
    p = Path(path)
    out = [p / "table.md", p / "table.csv", p / "table.json"]
    atomic_write(out[0], markdown(t).encode())
    atomic_write(out[1], csv_text(t).encode())
    atomic_write(out[2], (json_text(as_json(t)) + "\n").encode())
    return out


def merge(path: str | Path) -> Table:
    """Gather and write the table files; the caller decides what an incomplete table means."""
    t = gather(path)
    write(t, path)
    return t
