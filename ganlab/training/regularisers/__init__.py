"""Regularisers of the discriminator (critic) as self-describing parts (``base.Regulariser``), one
module per regulariser, each registered in ``REGULARISERS`` by its ``@register`` decorator when
imported below — adding one is its module, its test and one import line here; ``MethodConfig``
gathers their fields (flags, sweep keys and grid fields follow), ``methods.describe`` their labels.
"""

from .base import REGULARISERS, Regulariser, active_regularisers, register
from .gradient_penalty import GradientPenalty  # (its function: gradient_penalty.gradient_penalty, a module name)
from .weight_clipping import WeightClipping
from . import r1  # noqa: F401  (registers R1, Mescheder et al. 2018)
from . import r2  # noqa: F401  (registers R2, ibid.)

__all__ = ["REGULARISERS", "Regulariser", "active_regularisers", "register", "GradientPenalty", "WeightClipping"]
