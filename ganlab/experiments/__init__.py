"""Experiments that show the theory of ``ganlab.theory`` happen in networks trained by gradient
descent through the engine (``ganlab.training``), on the lab's own toy targets where both sides are
known exactly. One module per experiment family; each experiment is a function of ``seed`` and
``budget`` ("short": seconds on one CPU thread, what ``ganlab verify`` runs; "long": for figures
and ``ganlab verify --budget long``) returning plain numbers, cached per (seed, budget):

* ``discriminator`` — D → D* = p_data/(p_data + p_g) trained alone against a fixed p_g, both label
  conventions; V(D, G) → C(G) = −log 4 + 2·JSD from below (items 1, 3);
* ``figure1`` — Goodfellow et al.'s Figure 1 from a 1-D run (item 2);
* ``disjoint`` — the parallel lines: JSD = log 2, W1 = |θ|, what a GAN discriminator and a
  gradient-penalty critic estimate, and the generator gradients they give (item 4);
* ``duality`` and ``critics`` — Kantorovich–Rubinstein: gradient-penalty and clipped critics
  against pairs with known W1 (item 5);
* ``mle`` — f = p_data/p_g makes the generator's gradient the maximum-likelihood one (item 6);
* ``convergence`` — Proposition 2: a histogram p_g on V(D*, G) converges to p_data (item 7);
* ``maximin`` — many G steps per D step collapse, many D steps per G step cover (item 8);
* ``saturation`` — non-saturating vs minimax gradient norms early in training (item 9);
* ``unrolling`` — the unrolled surrogate's gradient from K = 0 to the best response (item 10);
* ``dirac_gan`` — the Dirac-GAN (Mescheder et al. 2018) trained by gradient descent through ganlab's
  losses: which methods converge to the equilibrium, at which rate.

``family.MixtureFamily`` gives every member of a batched run its own known distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .convergence import convergence_experiment
from .dirac import dirac_experiment
from .discriminator import discriminator_experiment
from .disjoint import disjoint_experiment
from .duality import duality_experiment
from .figure1 import figure1_experiment
from .maximin import maximin_experiment
from .mle import mle_experiment
from .saturation import saturation_experiment
from .unrolling import unrolling_experiment

EXPERIMENTS: dict[str, Callable[..., Any]] = {
    "learned_discriminator": discriminator_experiment,
    "goodfellow_figure1": figure1_experiment,
    "disjoint_supports": disjoint_experiment,
    "kr_duality": duality_experiment,
    "mle_gradient": mle_experiment,
    "convergence": convergence_experiment,
    "minimax_maximin": maximin_experiment,
    "saturation": saturation_experiment,
    "unrolling": unrolling_experiment,
    "dirac_gan": dirac_experiment,
}
