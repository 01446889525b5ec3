"""Learning-rate schedules: the rate of every member at each training step, as registered pieces.

A schedule is a frozen dataclass holding its parameters (validated at construction) whose
``factor(step)`` is a Python float: member i's rate at training step t (0-based: the t-th
generator update and the discriminator updates before it) is ``lr_i · factor(t)``, the same
factor for every member and for both networks. The step count is a Python int shared by the
members, so a step makes no host round trip, and the factor depends on t alone, so a resumed run
takes the rates of the uninterrupted one (nothing to checkpoint).

The formulas are torch.optim.lr_scheduler's closed forms (its ``_get_closed_form_lr``), with the
scheduler stepped once per training step: StepLR, LinearLR with start_factor 1, and
CosineAnnealingLR with eta_min given as a fraction of the base rate (one schedule serves members
and networks whose base rates differ). Arithmetic: the factor in Python float (IEEE double), then
one product ``lr_i · factor`` — what torch's closed form does for StepLR and LinearLR, bit for bit;
torch's chainable ``scheduler.step()`` multiplies the group's previous rate instead, which equals
the closed form only to rounding (``tests/training/test_lr_schedules.py`` compares both).
``constant`` multiplies nothing: its runs are the bits of runs before schedules existed.

A schedule that needs a length (``linear``, ``cosine``) takes it as its own ``horizon``, not
the run's ``steps``: a run's identity fixes its schedule, and a run extended with ``--steps``
continues at the final rate after the horizon (unlike torch's CosineAnnealingLR, which would
climb back up a second period).

The method configuration names a schedule and its parameters as flat fields ``lr_schedule``,
``lr_<parameter>`` (``methods.MethodConfig``); ``from_method`` builds the schedule from them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from ..validation import check_choice, check_int


def _check_factor(name: str, value: float) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return v


@dataclass(frozen=True)
class LRSchedule:
    """Base: ``factor(step)`` multiplies every member's base learning rate at training step
    ``step`` (0-based)."""

    name: ClassVar[str] = ""

    def factor(self, step: int) -> float:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Constant(LRSchedule):
    """η_t = η (the default)."""

    name: ClassVar[str] = "constant"

    def factor(self, step: int) -> float:
        return 1.0


@dataclass(frozen=True)
class Step(LRSchedule):
    """η_t = η · γ^⌊t / step_size⌋ (torch's StepLR): γ times smaller every ``step_size`` steps."""

    name: ClassVar[str] = "step"
    step_size: int | None = None
    gamma: float = 0.1

    def __post_init__(self) -> None:
        check_int("the step schedule's step_size (lr_step_size)", self.step_size)
        g = float(self.gamma)
        if not math.isfinite(g) or g <= 0:
            raise ValueError(f"the step schedule's gamma (lr_gamma) must be a positive finite number, got {self.gamma!r}")
        object.__setattr__(self, "gamma", g)

    def factor(self, step: int) -> float:
        return self.gamma ** (step // self.step_size)


@dataclass(frozen=True)
class _Annealing(LRSchedule):
    """A schedule from η at step 0 down to f·η (f = ``final_factor``) at step T = ``horizon``,
    held there after; the two below differ only in the path."""

    horizon: int | None = None
    final_factor: float = 0.0

    def __post_init__(self) -> None:
        check_int(f"the {self.name} schedule's horizon (lr_horizon)", self.horizon)
        object.__setattr__(self, "final_factor", _check_factor(
            f"the {self.name} schedule's final_factor (lr_final_factor)", self.final_factor))


@dataclass(frozen=True)
class Linear(_Annealing):
    """η_t = η · (1 + (f − 1) · min(t, T) / T), f = ``final_factor``, T = ``horizon`` (torch's
    LinearLR with start_factor 1, end_factor f, total_iters T): from η down to f·η at step T,
    f·η after."""

    name: ClassVar[str] = "linear"

    def factor(self, step: int) -> float:
        return 1.0 + (self.final_factor - 1.0) * min(step, self.horizon) / self.horizon


@dataclass(frozen=True)
class Cosine(_Annealing):
    """η_t = η · (f + (1 − f) · (1 + cos(π · min(t, T) / T)) / 2), f = ``final_factor``,
    T = ``horizon`` (torch's CosineAnnealingLR with T_max = T and eta_min = f·η): half a cosine
    from η down to f·η at step T, held there after."""

    name: ClassVar[str] = "cosine"

    def factor(self, step: int) -> float:
        f = self.final_factor
        return f + (1.0 - f) * (1.0 + math.cos(math.pi * min(step, self.horizon) / self.horizon)) / 2


LR_SCHEDULES: dict[str, type[LRSchedule]] = {"constant": Constant, "step": Step, "linear": Linear, "cosine": Cosine}
assert all(k == v.name for k, v in LR_SCHEDULES.items())

# every schedule parameter, as the method configuration names it: lr_<parameter>
PARAMETERS = tuple(dict.fromkeys(f.name for s in LR_SCHEDULES.values() for f in dataclasses.fields(s)))


def make_lr_schedule(name: str, **params: Any) -> LRSchedule:
    """The registered schedule ``name`` with ``params``."""
    check_choice("lr schedule", name, LR_SCHEDULES)
    return LR_SCHEDULES[name](**params)


def from_method(method: Any) -> LRSchedule:
    """The schedule of a method configuration (fields ``lr_schedule`` and ``lr_<parameter>``). A
    parameter the named schedule does not take must be left at its default (else a ValueError
    names it: it would silently do nothing)."""
    name = method.lr_schedule
    check_choice("lr schedule", name, LR_SCHEDULES)
    takes = {f.name for f in dataclasses.fields(LR_SCHEDULES[name])}
    defaults = {f.name: f.default for f in dataclasses.fields(type(method))}
    for p in PARAMETERS:
        key = "lr_" + p
        if p not in takes and getattr(method, key) != defaults[key]:
            own = ", ".join("lr_" + t for t in sorted(takes)) or "none"
            raise ValueError(f"{key}={getattr(method, key)!r} does not apply to lr schedule {name!r} "
                             f"(its parameters: {own})")
    return make_lr_schedule(name, **{p: getattr(method, "lr_" + p) for p in takes})
