"""What a self-describing part of a method (a loss, a regulariser) declares about itself.

A part owns the ``MethodConfig`` fields it reads: each is a ``PartField`` declared in the part's
module, and ``methods.MethodConfig`` gathers every registered part's fields, so the CLI's flags,
a sweep's keys and the grid fields (all derived from ``MethodConfig``) follow without an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PartField:
    """One ``MethodConfig`` field a part owns.

    ``grid``: a hyperparameter grid may vary it across the members of one batched run (the engine
    then hands the part a tensor [N] of it, ``Trainer.hyper[name]``). ``late``: added after run
    folders were saved, so left out of a saved identity while at its default (their hash stays)."""

    name: str
    type: Any
    default: Any
    help: str
    grid: bool = False
    choices: tuple[str, ...] | None = None
    late: bool = True
