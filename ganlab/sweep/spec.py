"""A sweep's specification, read from TOML and validated at construction, and the cells it expands to.

A sweep is targets × method variants × seeds at one budget. Each (variant, target) is a *cell*: one
ordinary batched run (every seed of the cell, and every point of the variant's hyperparameter
grid, in one ``Trainer``). The file format (every key is checked; an unknown one is named)::

    [sweep]
    name = "quick"                 # required: the table's title
    description = "..."            # optional
    preset = "quick"               # default preset of every variant (ganlab.training.presets)
    targets = ["ring8", "grid25"]  # required, at least one
    seeds = 10                     # a count (seeds seed_start .. seed_start + count − 1) or a list
    seed_start = 0
    steps = 3000                   # optional: every variant's budget (else its preset's)
    dtype = "float32"              # float32 | float64 | bfloat16: changes rounding, so part of the sweep

    [defaults]                     # optional: keys applied to every variant before its own
    eval_every = 500

    [[methods]]                    # one table per variant, in the order of the table's rows
    method = "packed"              # a registered method, for presets that take one (quick)
    pack = 3                       # any MethodConfig field (lr_d, betas, batch_size, unroll, ...)
    eval_samples = 2500            # any TrainConfig field but target, seeds, method
    label = "PacGAN3"              # optional; default: what the config trains (methods.describe)
    preset = "quick"               # optional: this variant's preset
    compare = ["lin2018:PacGAN3"]  # optional: published rows shown beside this one (published.py)
    [methods.grid]                 # optional: a hyperparameter grid, trained in the same batched run
    lr_d = [1e-4, 1e-3]
    [methods.generator]            # optional: fields of the generator's spec (e.g. MLPSpec)
    width = 64

A field whose default is ``None`` (``clip``, ``dataset_size``) is set back to ``None`` with the
string ``"none"`` (TOML has no null).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..coerce import CoercionError, field_types, from_data
from ..training.config import DTYPES, TrainConfig
from ..training.methods import METHODS, MethodConfig, grid_fields
from ..training.presets import PRESETS, make_preset, preset_takes
from ..theory.targets import TARGETS, make_target
from ..rng import check_seed


class SweepConfigError(ValueError):
    """A sweep specification that cannot be run; the message names the key and the value."""


SWEEP_KEYS = ("name", "description", "preset", "targets", "seeds", "seed_start", "steps", "dtype")
VARIANT_META = ("method", "preset", "label", "compare")
VARIANT_TABLES = ("grid", "generator", "discriminator")
# TrainConfig fields a variant may not set: the sweep's axes, and the tables above
_NOT_OVERRIDABLE = ("target", "target_kwargs", "seeds", "method", "grid", "generator", "discriminator")


def _method_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(MethodConfig)}


def _train_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(TrainConfig) if f.name not in _NOT_OVERRIDABLE}


def override_keys() -> tuple[str, ...]:
    """Keys a [[methods]] or [defaults] table may set besides its meta keys and tables."""
    method, train = _method_fields(), _train_fields()
    clash = set(method) & set(train)
    assert not clash, f"MethodConfig and TrainConfig share field names {clash}: flat TOML keys would be ambiguous"
    return tuple(sorted({*method, *train}))


def _unknown(where: str, key: str, known: typing.Iterable[str]) -> SweepConfigError:
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return SweepConfigError(f"{where}: unknown key {key!r}{hint} Known: {', '.join(known)}")


# -- value types ---------------------------------------------------------------------------------------
def _coerce(where: str, key: str, value: Any, tp: Any) -> Any:
    """``value`` checked against the field's annotation (``ganlab.coerce``, the one coercion of
    outside values); the dataclass's own checks then judge its range."""
    try:
        return from_data(value, tp, f"{where}: {key}")
    except CoercionError as e:
        raise SweepConfigError(str(e)) from None


# -- one variant -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    """One row family of the table: a preset, a registered method, field overrides and a grid."""

    index: int  # position in the [[methods]] list (1-based in messages)
    preset: str
    method: str | None
    label: str | None
    compare: tuple[str, ...]
    method_overrides: dict[str, Any]
    train_overrides: dict[str, Any]
    generator: dict[str, Any]
    discriminator: dict[str, Any]
    grid: dict[str, tuple[float, ...]]

    @property
    def where(self) -> str:
        name = self.label or self.method or self.preset
        return f"[[methods]] #{self.index + 1} ({name})"

    def config(self, target: str, seeds: tuple[int, ...], steps: int | None) -> TrainConfig:
        """This variant's run on ``target``: the preset, then the overrides, then the budget."""
        kw: dict[str, Any] = {"target": target, "seeds": seeds}
        if self.method is not None:
            kw["method"] = self.method
        if "unroll" in self.method_overrides and preset_takes(self.preset, "unroll"):
            kw["unroll"] = self.method_overrides["unroll"]  # the preset picks the schedule for K (as the CLI)
        base = make_preset(self.preset, **kw)
        method = dataclasses.replace(base.method, **self.method_overrides)
        train = dict(self.train_overrides)
        if steps is not None and "steps" not in train:
            train["steps"] = steps
        return dataclasses.replace(
            base, method=method, grid=dict(self.grid),
            generator=dataclasses.replace(base.generator, **self.generator),
            discriminator=dataclasses.replace(base.discriminator, **self.discriminator), **train)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["compare"] = list(self.compare)
        d["grid"] = {k: list(v) for k, v in self.grid.items()}
        return d


def _check_table(where: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SweepConfigError(f"{where}: {key} must be a table ([... .{key}]), got {value!r}")
    return value


def _split_overrides(where: str, table: dict[str, Any]) -> tuple[dict, dict]:
    """Flat keys → (MethodConfig overrides, TrainConfig overrides), each value type-checked."""
    method_f, train_f = _method_fields(), _train_fields()
    mtypes, ttypes = field_types(MethodConfig), field_types(TrainConfig)
    method, train = {}, {}
    for key, value in table.items():
        if key in method_f:
            method[key] = _coerce(where, key, value, mtypes[key])
        elif key in train_f:
            train[key] = _coerce(where, key, value, ttypes[key])
        else:
            raise _unknown(where, key, (*VARIANT_META, *VARIANT_TABLES, *override_keys()))
    return method, train


def _spec_table(where: str, role: str, table: dict[str, Any], spec_cls) -> dict[str, Any]:
    fields = {f.name: f for f in dataclasses.fields(spec_cls)}
    types_ = field_types(spec_cls)
    out = {}
    for key, value in table.items():
        if key not in fields:
            raise _unknown(f"{where} {role}", key, fields)
        out[key] = _coerce(f"{where} {role}", key, value, types_[key])
    return out


def _grid_table(where: str, table: dict[str, Any]) -> dict[str, tuple[float, ...]]:
    out = {}
    for key, values in table.items():
        if key not in grid_fields():
            raise SweepConfigError(f"{where}: unknown grid field {key!r}; a grid may vary "
                                   f"{', '.join(grid_fields())}")
        if not isinstance(values, list) or not values:
            raise SweepConfigError(f"{where}: grid.{key} must be a non-empty list of numbers, got {values!r}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SweepConfigError(f"{where}: grid.{key} holds {v!r}, not a finite number")
        if len(set(values)) != len(values):
            raise SweepConfigError(f"{where}: grid.{key} repeats a value: {values}")
        out[key] = tuple(float(v) for v in values)
    return dict(sorted(out.items()))


def _variant(index: int, table: Any, defaults: dict[str, Any], sweep_preset: str) -> Variant:
    where = f"[[methods]] #{index + 1}"
    if not isinstance(table, dict):
        raise SweepConfigError(f"{where} must be a table, got {table!r}")
    merged = {**{k: v for k, v in defaults.items() if k not in VARIANT_TABLES}, **table}
    meta = {k: merged.pop(k) for k in VARIANT_META if k in merged}
    tables = {k: _check_table(where, k, merged.pop(k)) for k in VARIANT_TABLES if k in merged}
    for k in VARIANT_TABLES:  # defaults' tables merge field by field under the variant's
        if k in defaults:
            tables[k] = {**_check_table("[defaults]", k, defaults[k]), **tables.get(k, {})}
    name = meta.get("label") or meta.get("method")
    if name is not None:
        where += f" ({name})"
    preset = meta.get("preset", sweep_preset)
    if not isinstance(preset, str) or preset not in PRESETS:
        raise SweepConfigError(f"{where}: unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
    method = meta.get("method")
    if method is not None:
        if not isinstance(method, str) or method not in METHODS:
            raise SweepConfigError(f"{where}: unknown method {method!r}; known: {', '.join(sorted(METHODS))}")
        if not preset_takes(preset, "method"):
            raise SweepConfigError(f"{where}: preset {preset!r} fixes its method; set its fields (pack, unroll, "
                                   f"loss, ...) instead of method = {method!r}")
    label = meta.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise SweepConfigError(f"{where}: label must be a non-empty string, got {label!r}")
    compare = _compare_keys(where, meta.get("compare", []))
    method_over, train_over = _split_overrides(where, merged)
    grid = _grid_table(where, tables.get("grid", {}))
    both = sorted(set(grid) & set(method_over))
    if both:
        raise SweepConfigError(f"{where}: {both[0]} is set both as a field and in grid.{both[0]}; choose one")
    base = PRESETS[preset]()
    return Variant(
        index=index, preset=preset, method=method, label=label, compare=compare,
        method_overrides=method_over, train_overrides=train_over,
        generator=_spec_table(where, "generator", tables.get("generator", {}), type(base.generator)),
        discriminator=_spec_table(where, "discriminator", tables.get("discriminator", {}), type(base.discriminator)),
        grid=grid)


def _compare_keys(where: str, value: Any) -> tuple[str, ...]:
    from .published import PUBLISHED_KEYS

    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SweepConfigError(f"{where}: compare must be a list of published keys, got {value!r}")
    for key in value:
        if key not in PUBLISHED_KEYS:
            raise SweepConfigError(f"{where}: unknown published result {key!r}; known: {', '.join(PUBLISHED_KEYS)}")
    return tuple(value)


# -- cells ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One batched run of the sweep: a variant on a target, every seed (and grid point)."""

    index: int
    id: str  # its folder's name under DIR/cells/
    target: str
    label: str
    variant: Variant
    config: TrainConfig

    def record(self) -> dict[str, Any]:
        """What sweep.json stores about the cell (and a merge or a resumed shard checks)."""
        from .budget import budget

        cfg = self.config
        return {"index": self.index, "id": self.id, "target": self.target, "label": self.label,
                "variant": self.variant.index, "preset": self.variant.preset, "compare": list(self.variant.compare),
                "identity_sha256": cfg.identity_sha256(), "steps": cfg.steps, "seeds": list(cfg.seeds),
                "grid": {k: list(v) for k, v in cfg.grid.items()}, "n_members": cfg.n_members,
                "budget": budget(self.variant.preset, cfg)}


def slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9.]+", "-", text.lower())).strip("-")


# -- the sweep ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep. Build with ``SweepSpec.from_toml`` (a file), ``from_text`` or
    ``from_toml_data`` (parsed TOML)."""

    name: str
    description: str
    targets: tuple[str, ...]
    seeds: tuple[int, ...]
    steps: int | None
    dtype: str
    variants: tuple[Variant, ...]
    source: str = "<string>"

    def __post_init__(self) -> None:
        if not self.targets:
            raise SweepConfigError(f"{self.source}: [sweep] targets is empty; list at least one target")
        if not self.variants:
            raise SweepConfigError(f"{self.source}: no [[methods]] tables; a sweep needs at least one method")
        if not self.seeds:
            raise SweepConfigError(f"{self.source}: [sweep] seeds is empty; give a count >= 1 or a list")
        labels: dict[str, Variant] = {}
        for v in self.variants:
            label = self._label(v)
            if label in labels:
                raise SweepConfigError(f"{self.source}: {labels[label].where} and {v.where} both have the label "
                                       f"{label!r}; give one of them a distinct `label`")
            labels[label] = v
        ids = {}
        for c in self.cells():  # every cell's configuration is built (and checked) here
            if c.id in ids:
                raise SweepConfigError(f"{self.source}: labels {ids[c.id]!r} and {c.label!r} give the same folder "
                                       f"name {c.id!r}; make them differ in letters or digits")
            ids[c.id] = c.label

    def _label(self, v: Variant) -> str:
        return v.label or self._config(v, self.targets[0]).label

    def _config(self, v: Variant, target: str) -> TrainConfig:
        try:
            cfg = v.config(target, self.seeds, self.steps)
            from ..training.assembly import assemble
            from ..training.evaluators import check_evaluators

            check_evaluators(cfg, assemble(cfg).target)  # assembling checks the nets fit the data
        except (ValueError, TypeError) as e:
            raise SweepConfigError(f"{self.source}: {v.where} on target {target!r}: {e}") from None
        return cfg

    def cells(self) -> list[Cell]:
        """Variant-major, target-minor: cell k is variant k // T on target k % T, so that shards
        taken round-robin (k mod n) share out the costly variants."""
        out = []
        for v in self.variants:
            label = self._label(v)
            for t in self.targets:
                out.append(Cell(len(out), f"{slug(t)}__{slug(label)}", t, label, v, self._config(v, t)))
        return out

    def with_steps(self, steps: int) -> "SweepSpec":
        """The same sweep at another budget: every cell trains ``steps`` steps (``ganlab sweep run
        --steps``; a sweep folder moves between budgets, so a sweep can stop early and grow later)."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise SweepConfigError(f"steps must be an integer >= 1, got {steps!r}")
        own = [v.where for v in self.variants if "steps" in v.train_overrides]
        if own:
            raise SweepConfigError(f"{self.source}: {own[0]} sets its own steps (itself or through [defaults]); a "
                                   "budget for the whole sweep needs every variant to take the sweep's steps")
        return dataclasses.replace(self, steps=steps)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "targets": list(self.targets),
                "seeds": list(self.seeds), "steps": self.steps, "dtype": self.dtype,
                "variants": [v.to_dict() for v in self.variants]}

    # -- reading ---------------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> "SweepSpec":
        p = Path(path)
        try:
            text = p.read_text()
        except FileNotFoundError:
            raise SweepConfigError(f"sweep config {str(p)!r} does not exist") from None
        except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
            raise SweepConfigError(f"sweep config {str(p)!r} cannot be read: {e}") from None
        return cls.from_text(text, source=str(p))

    @classmethod
    def from_text(cls, text: str, source: str = "<string>") -> "SweepSpec":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SweepConfigError(f"{source}: not valid TOML: {e}") from None
        return cls.from_toml_data(data, source)

    @classmethod
    def from_toml_data(cls, data: dict[str, Any], source: str = "<string>") -> "SweepSpec":
        for key in data:
            if key not in ("sweep", "defaults", "methods"):
                raise _unknown(f"{source}: top level", key, ("sweep", "defaults", "methods"))
        sweep = _check_table(source, "sweep", data.get("sweep", {}))
        for key in sweep:
            if key not in SWEEP_KEYS:
                raise _unknown(f"{source}: [sweep]", key, SWEEP_KEYS)
        where = f"{source}: [sweep]"
        name = sweep.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SweepConfigError(f"{where}: name must be a non-empty string, got {name!r}")
        description = _coerce(where, "description", sweep.get("description", ""), str)
        preset = sweep.get("preset", "quick")
        if preset not in PRESETS:
            raise SweepConfigError(f"{where}: unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
        targets = _targets(where, sweep.get("targets"))
        seeds = _seeds(where, sweep.get("seeds"), sweep.get("seed_start", 0), "seed_start" in sweep)
        steps = sweep.get("steps")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise SweepConfigError(f"{where}: steps must be an integer >= 1, got {steps!r}")
        dtype = sweep.get("dtype", "float32")
        if dtype not in DTYPES:
            raise SweepConfigError(f"{where}: unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")
        defaults = _check_table(source, "defaults", data.get("defaults", {}))
        for key in defaults:
            if key in VARIANT_META:
                raise SweepConfigError(f"{source}: [defaults] cannot set {key!r}; set it in each [[methods]] table")
        methods = data.get("methods", [])
        if not isinstance(methods, list):
            raise SweepConfigError(f"{source}: methods must be an array of tables ([[methods]]), got {methods!r}")
        try:
            variants = tuple(_variant(i, t, defaults, preset) for i, t in enumerate(methods))
        except SweepConfigError as e:
            raise SweepConfigError(f"{source}: {e}") from None
        return cls(name.strip(), description, targets, seeds, steps, dtype, variants, source)


def _targets(where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        raise SweepConfigError(f"{where}: targets is missing; e.g. targets = [\"ring8\", \"grid25\"]")
    if not isinstance(value, list):
        raise SweepConfigError(f"{where}: targets must be a list of target names, got {value!r}")
    for t in value:
        if t not in TARGETS or t == "mixture":
            known = ", ".join(sorted(n for n in TARGETS if n != "mixture"))
            raise SweepConfigError(f"{where}: unknown target {t!r}; known: {known}")
        if not make_target(t).has_density:  # (a sample-only target's centres raise NoDensityError)
            raise SweepConfigError(f"{where}: target {t!r} is sample-only: it has no modes to count")
    if len(set(value)) != len(value):
        raise SweepConfigError(f"{where}: targets repeats a name: {value}")
    return tuple(value)


def _seeds(where: str, value: Any, start: Any, start_given: bool) -> tuple[int, ...]:
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise SweepConfigError(f"{where}: seed_start must be a non-negative integer, got {start!r}")
    if value is None:
        raise SweepConfigError(f"{where}: seeds is missing; give a count (seeds = 10) or a list")
    if isinstance(value, bool):
        raise SweepConfigError(f"{where}: seeds must be a count or a list of integers, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise SweepConfigError(f"{where}: seeds must be at least 1, got {value}")
        value = list(range(start, start + value))
    elif not isinstance(value, list):
        raise SweepConfigError(f"{where}: seeds must be a count or a list of integers, got {value!r}")
    elif start_given:
        raise SweepConfigError(f"{where}: seed_start applies to a seed count, not to a list of seeds")
    for s in value:
        try:
            check_seed("seed", s)
        except ValueError as e:
            raise SweepConfigError(f"{where}: {e}") from None
    if len(set(value)) != len(value):
        raise SweepConfigError(f"{where}: seeds repeats a seed: {value}")
    return tuple(value)


# -- shards ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shard:
    """Shard i of n (1-based, as job-array task ids): the cells whose 0-based index k has
    k mod n == i − 1."""

    i: int
    n: int

    def __post_init__(self) -> None:
        if self.n < 1 or not 1 <= self.i <= self.n:
            raise SweepConfigError(f"shard {self.i}/{self.n}: need 1 <= i <= n (i is 1-based, as in job arrays)")

    @classmethod
    def parse(cls, text: str) -> "Shard":
        m = re.fullmatch(r"\s*(-?\d+)\s*/\s*(-?\d+)\s*", text or "")
        if not m:
            raise SweepConfigError(f"shard {text!r}: expected I/N, e.g. 2/3 (I is 1-based, as in job arrays)")
        return cls(int(m.group(1)), int(m.group(2)))

    def owns(self, index: int) -> bool:
        return index % self.n == self.i - 1

    def __str__(self) -> str:
        return f"{self.i}/{self.n}"
