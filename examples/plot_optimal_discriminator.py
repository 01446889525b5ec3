r"""
The optimal discriminator
=========================

For a fixed generator, the discriminator that maximises
:math:`V(D, G) = \mathbb{E}_{p_\mathrm{data}}[\log D] + \mathbb{E}_{p_g}[\log(1 - D)]` is
(Goodfellow et al. 2014, Proposition 1)

.. math:: D^*(x) = \frac{p_\mathrm{data}(x)}{p_\mathrm{data}(x) + p_g(x)}.

ganlab computes it exactly for any pair of targets with densities
(:func:`ganlab.theory.gan.optimal_discriminator`). Theory page: :doc:`/theory/optimal_discriminator`.
"""

# %%
# Two 1-D Gaussian mixtures with exact densities.
import matplotlib.pyplot as plt
import torch

from ganlab.theory.gan import optimal_discriminator, pointwise_maximiser
from ganlab.theory.targets import mixture_1d

p_data = mixture_1d(means=(-2.0, 2.0), stds=(0.5, 0.5))
p_g = mixture_1d(means=(-1.0, 2.5), stds=(0.8, 0.4), weights=(0.7, 0.3))
x = torch.linspace(-5.0, 5.0, 801, dtype=torch.float64)
d_star = optimal_discriminator(p_data, p_g, x[:, None])

# %%
# D* is the pointwise maximiser of a·log y + b·log(1 − y) with a = p_data(x), b = p_g(x):
# the same numbers from the densities directly.
a, b = p_data.prob(x).numpy(), p_g.prob(x).numpy()
print("max |D* - a/(a+b)| =", float(abs(d_star.numpy() - pointwise_maximiser(a, b)).max()))

# %%
# With the other label convention (real = 0) the discriminator's target flips:
# D*(x) = p_g / (p_data + p_g).
d_flipped = optimal_discriminator(p_data, p_g, x[:, None], real_label=0)
print("D*(real=1) + D*(real=0) = 1 everywhere:", bool(torch.allclose(d_star + d_flipped, torch.ones_like(d_star))))

fig, ax = plt.subplots(figsize=(7.5, 4), constrained_layout=True)
ax.fill_between(x, a, alpha=0.2, color="C0")
ax.fill_between(x, b, alpha=0.2, color="C1")
ax.plot(x, a, color="C0", label=r"$p_\mathrm{data}$")
ax.plot(x, b, color="C1", label=r"$p_g$")
ax.set_xlabel("x")
ax.set_ylabel("density")
ax2 = ax.twinx()
ax2.plot(x, d_star, color="k", lw=2, label=r"$D^*(x)$")
ax2.axhline(0.5, color="k", ls=":", lw=1)
ax2.set_ylim(0, 1.05)
ax2.set_ylabel(r"$D^*(x)$")
fig.legend(loc="upper left", bbox_to_anchor=(0.08, 0.95))
ax.set_title(r"$D^* = p_\mathrm{data} / (p_\mathrm{data} + p_g)$; $D^* = 1/2$ where the densities meet")
plt.show()
