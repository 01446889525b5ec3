"""Schedules and regularisers use the trainer through ``interface.StepInterface`` alone: each one
runs here against a trainer that offers only the Protocol's names (any other raises), and together
they use every name the Protocol lists."""

import pytest
import torch

from ganlab.training.engine import Trainer
from ganlab.training.interface import StepInterface
from ganlab.training.methods import make_method
from ganlab.training.regularisers import REGULARISERS
from ganlab.training.schedules import SCHEDULES
from helpers import F32, small

NAMES = frozenset(StepInterface.__annotations__) | frozenset(
    n for n, v in vars(StepInterface).items() if not n.startswith("_") and (callable(v) or isinstance(v, property)))
USED: set[str] = set()


class OnlyTheInterface:
    """The trainer seen through ``StepInterface``: reading any other name raises."""

    def __init__(self, trainer: Trainer):
        object.__setattr__(self, "_trainer", trainer)

    def __getattr__(self, name):
        if name not in NAMES:
            raise AttributeError(f"{name!r} is not part of StepInterface")
        USED.add(name)
        return getattr(self._trainer, name)

    def __setattr__(self, name, value):
        raise AttributeError(f"a part set the trainer's {name!r}")


SCHEDULE_CASES = {
    "alternating, k=2, 2 G steps": make_method("nonsaturating", d_steps=2, g_steps=2),
    "simultaneous, k=2": make_method("nonsaturating", schedule="simultaneous", d_steps=2),
    "unrolled K=2": make_method("unrolled", unroll=2),
}


@pytest.mark.parametrize("fixed", [False, True], ids=["with G", "fixed generator"])
@pytest.mark.parametrize("case", list(SCHEDULE_CASES))
def test_each_schedule_runs_through_the_interface(case, fixed):
    method = SCHEDULE_CASES[case]
    if fixed and method.schedule == "unrolled":
        pytest.skip("the unrolled schedule needs a generator")
    cfg = small(method, seeds=(1, 2), fixed_generator="ring8" if fixed else None)
    t = Trainer(cfg, F32)
    d_loss, g_loss = SCHEDULES[method.schedule](OnlyTheInterface(t), 0)
    assert d_loss.shape == (2,) and torch.isfinite(d_loss).all()
    assert torch.isfinite(g_loss).all() != fixed


@pytest.mark.parametrize("name", list(REGULARISERS))
def test_each_regulariser_runs_through_the_interface(name):
    reg = REGULARISERS[name]
    cfg = small(make_method("nonsaturating"), seeds=(1, 2), grid={f.name: (1.0,) for f in reg.fields})
    assert reg.active(cfg.method, cfg.grid)
    t = Trainer(cfg, F32)
    real, fake = t.pack(t.real(0, 0)), t.pack(t.fake(0, 0))
    term = reg.penalty(OnlyTheInterface(t), t.params_d, real, fake, 0, 0)
    assert term is None or term.shape == (2,)
    reg.after_update(OnlyTheInterface(t))


def test_together_they_use_every_name_of_the_interface():
    """The Protocol lists nothing the parts don't use: every case above run again here, so that the
    test holds alone, under -k and in any order."""
    USED.clear()
    for case in SCHEDULE_CASES:
        for fixed in (False, True):
            if not (fixed and SCHEDULE_CASES[case].schedule == "unrolled"):
                test_each_schedule_runs_through_the_interface(case, fixed)
    for name in REGULARISERS:
        test_each_regulariser_runs_through_the_interface(name)
    assert USED == NAMES
