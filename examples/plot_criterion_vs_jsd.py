r"""
C(G) and the Jensen–Shannon divergence
======================================

With the optimal discriminator plugged in, the GAN value becomes the *virtual training criterion*
(Goodfellow et al. 2014, Theorem 1)

.. math:: C(G) = V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_\mathrm{data} \,\|\, p_g),

minimal (:math:`-\log 4`) exactly when :math:`p_g = p_\mathrm{data}`. Here
:func:`ganlab.theory.gan.virtual_criterion` (V at D*, by adaptive quadrature) is set against
:func:`ganlab.theory.divergences.jensen_shannon` (also by quadrature) through
:func:`ganlab.theory.gan.criterion_from_jsd`, along a family of generators that slide onto the data.
Theory page: :doc:`/theory/criterion_and_jsd`.
"""

import math

import matplotlib.pyplot as plt
import numpy as np

from ganlab.theory.divergences import jensen_shannon
from ganlab.theory.gan import criterion_from_jsd, virtual_criterion
from ganlab.theory.targets import mixture_1d

p_data = mixture_1d(means=(-2.0, 2.0), stds=(0.5, 0.5))
shifts = np.linspace(-3.0, 3.0, 25)
c, c_err, from_jsd = [], [], []
for t in shifts:
    p_g = mixture_1d(means=(-2.0 + t, 2.0 + t), stds=(0.5, 0.5))
    est = virtual_criterion(p_data, p_g, method="quadrature")
    c.append(est.value)
    c_err.append(est.error)
    from_jsd.append(criterion_from_jsd(jensen_shannon(p_data, p_g, method="quadrature").value))
c, from_jsd = np.array(c), np.array(from_jsd)
print(f"largest |C(G) - (-log 4 + 2 JSD)| over {len(shifts)} generators: {np.abs(c - from_jsd).max():.2e} "
      f"(quadrature error bound {max(c_err):.1e})")
print(f"C(G) at p_g = p_data: {c[len(c) // 2]:.12f}; -log 4 = {-math.log(4):.12f}")

# %%
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
ax.plot(shifts, c, "o", mfc="none", label=r"$C(G) = V(D^*, G)$ (quadrature)")
ax.plot(shifts, from_jsd, "-", label=r"$-\log 4 + 2\,\mathrm{JSD}$")
ax.axhline(-math.log(4), color="k", ls=":", lw=1, label=r"$-\log 4$")
ax.axhline(0.0, color="0.5", lw=0.8)
ax.set_xlabel(r"shift $t$ of $p_g$ (both modes moved by $t$)")
ax.set_ylabel("nats")
ax.legend()
ax.set_title(r"$C(G)$ is minimal, $-\log 4$, only at $p_g = p_\mathrm{data}$")
plt.show()
