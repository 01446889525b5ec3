"""WGAN's weight clipping (Arjovsky et al. 2017)."""

from __future__ import annotations

import torch

from ...validation import check_positive
from ..optim import member_view
from ..parts import PartField
from .base import Regulariser, register


@register
class WeightClipping(Regulariser):
    """After every critic update, every critic parameter is clamped to [−c, c] (Arjovsky et al.
    2017, Algorithm 1), c per member."""

    name = "weight_clipping"
    weight = "clip"
    what = "the clipping"
    per_sample = False
    fields = (PartField("clip", float | None, None, "WGAN weight clipping to [−c, c] after each critic update "
                        "(none: off)", grid=True, late=False),)

    def on(self, m):
        return m.clip is not None

    def label(self, m, grid):
        return "clip" if "clip" in grid else f"clip {m.clip:g}"

    def check(self, m):
        if m.clip is not None:
            check_positive("clip", m.clip)

    @torch.no_grad()
    def after_update(self, t) -> None:
        for p in t.params_d.values():
            c = member_view(t.hyper["clip"], p)
            torch.minimum(torch.maximum(p, -c), c, out=p)

    def reference_after_update(self, m, D):
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-m.clip, m.clip)
