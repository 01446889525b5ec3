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
``lr_<parameter>``: ``LR_SCHEDULE_PART`` declares them (from the schedules' own fields and their
help) for ``methods.MethodConfig`` to gather, and ``from_method`` builds the schedule from them.
Each schedule also names torch's scheduler for the reference loop (``reference_scheduler``).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..validation import check_choice, check_int
from .parts import PartField


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
    help: ClassVar[str] = ""  # its ``--lr-schedule`` choice, in a few words

    def factor(self, step: int) -> float:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def holds_from(self) -> int | None:
        """The step from which the factor stays constant, if it has one."""
        return None

    def reference_scheduler(self, opt):
        """torch.optim.lr_scheduler's own scheduler of this schedule on ``opt`` (None: constant), for
        ``training.reference``'s plain loop, which steps it once per training step (until ``holds_from``)."""
        return None


@dataclass(frozen=True)
class Constant(LRSchedule):
    """η_t = η (the default)."""

    name: ClassVar[str] = "constant"
    help: ClassVar[str] = "constant"

    def factor(self, step: int) -> float:
        return 1.0


@dataclass(frozen=True)
class Step(LRSchedule):
    """η_t = η · γ^⌊t / step_size⌋ (torch's StepLR): γ times smaller every ``step_size`` steps."""

    name: ClassVar[str] = "step"
    help: ClassVar[str] = "step (× lr_gamma every lr_step_size steps)"
    step_size: int | None = field(default=None, metadata={"help": "steps between the step schedule's drops "
                                                                  "(torch's StepLR step_size)"})
    gamma: float = field(default=0.1, metadata={"help": "the step schedule's factor per drop (torch's StepLR gamma)"})

    def __post_init__(self) -> None:
        check_int("the step schedule's step_size (lr_step_size)", self.step_size)
        g = float(self.gamma)
        if not math.isfinite(g) or g <= 0:
            raise ValueError(f"the step schedule's gamma (lr_gamma) must be a positive finite number, got {self.gamma!r}")
        object.__setattr__(self, "gamma", g)

    def factor(self, step: int) -> float:
        return self.gamma ** (step // self.step_size)

    def reference_scheduler(self, opt):
        import torch

        return torch.optim.lr_scheduler.StepLR(opt, step_size=self.step_size, gamma=self.gamma)


@dataclass(frozen=True)
class _Annealing(LRSchedule):
    """A schedule from η at step 0 down to f·η (f = ``final_factor``) at step T = ``horizon``,
    held there after; the two below differ only in the path."""

    horizon: int | None = field(default=None, metadata={
        "help": "steps over which the linear or cosine schedule decays (torch's total_iters / T_max); fixed with "
                "the run, so an extended run goes on at the final rate"})
    final_factor: float = field(default=0.0, metadata={
        "help": "the linear or cosine schedule's final rate as a fraction of the base rate (cosine: torch's "
                "eta_min / lr)"})

    def __post_init__(self) -> None:
        check_int(f"the {self.name} schedule's horizon (lr_horizon)", self.horizon)
        object.__setattr__(self, "final_factor", _check_factor(
            f"the {self.name} schedule's final_factor (lr_final_factor)", self.final_factor))

    @property
    def holds_from(self) -> int | None:
        return self.horizon


@dataclass(frozen=True)
class Linear(_Annealing):
    """η_t = η · (1 + (f − 1) · min(t, T) / T), f = ``final_factor``, T = ``horizon`` (torch's
    LinearLR with start_factor 1, end_factor f, total_iters T): from η down to f·η at step T,
    f·η after."""

    name: ClassVar[str] = "linear"
    help: ClassVar[str] = "linear (down to lr_final_factor × the rate over lr_horizon steps, then held)"

    def factor(self, step: int) -> float:
        return 1.0 + (self.final_factor - 1.0) * min(step, self.horizon) / self.horizon

    def reference_scheduler(self, opt):
        import torch

        return torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=self.final_factor,
                                                 total_iters=self.horizon)


@dataclass(frozen=True)
class Cosine(_Annealing):
    """η_t = η · (f + (1 − f) · (1 + cos(π · min(t, T) / T)) / 2), f = ``final_factor``,
    T = ``horizon`` (torch's CosineAnnealingLR with T_max = T and eta_min = f·η): half a cosine
    from η down to f·η at step T, held there after."""

    name: ClassVar[str] = "cosine"
    help: ClassVar[str] = "cosine (the same along half a cosine)"

    def factor(self, step: int) -> float:
        f = self.final_factor
        return f + (1.0 - f) * (1.0 + math.cos(math.pi * min(step, self.horizon) / self.horizon)) / 2

    def reference_scheduler(self, opt):  # (torch's would climb back up after T_max: the loop stops stepping it)
        import torch

        return torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=self.horizon, eta_min=self.final_factor * opt.param_groups[0]["lr"])


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


class _LRSchedulePart:
    """The learning-rate schedule as a part of the method: its fields, ``lr_schedule`` and
    ``lr_<parameter>`` of every schedule parameter (type, default and help from the schedule's own
    field; all added after runs were saved, so late), and their check, ``from_method``."""

    def __init__(self) -> None:
        fields = [PartField("lr_schedule", str, "constant", "learning-rate schedule of both networks: "
                            + "; ".join(s.help for s in LR_SCHEDULES.values()), choices=tuple(LR_SCHEDULES))]
        seen = set()
        for sched in LR_SCHEDULES.values():
            hints = typing.get_type_hints(sched)
            for f in dataclasses.fields(sched):
                if f.name not in seen:
                    seen.add(f.name)
                    fields.append(PartField("lr_" + f.name, hints[f.name], f.default, f.metadata["help"]))
        self.fields = tuple(fields)

    def check(self, method: Any) -> None:
        from_method(method)


LR_SCHEDULE_PART = _LRSchedulePart()
