"""Losses as self-describing parts (``base.Loss``), one module per loss family, each registered
in ``LOSSES`` by its ``@register`` decorator when imported below — adding a loss is its module,
its test and one import line here. ``methods.MethodConfig`` gathers their fields, ``--loss`` and
``--generator-loss`` their names, ``methods.describe`` their labels.
"""

from .base import LOSSES, Loss, per_member_mean, register
from .gan import discriminator_loss_gan, generator_loss_minimax, generator_loss_nonsaturating
from .wasserstein import critic_loss_wasserstein, generator_loss_wasserstein
from . import hinge  # noqa: F401  (registers the hinge loss, Lim & Ye 2017)
from . import least_squares  # noqa: F401  (registers LSGAN, Mao et al. 2017)
from ..regularisers.gradient_penalty import gradient_penalty  # (its earlier home; callers import it from here)

__all__ = [
    "LOSSES", "Loss", "per_member_mean", "register", "discriminator_loss_gan", "generator_loss_minimax",
    "generator_loss_nonsaturating", "critic_loss_wasserstein", "generator_loss_wasserstein", "gradient_penalty",
]
