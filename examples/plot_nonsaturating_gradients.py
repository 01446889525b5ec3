r"""
Non-saturating generator gradients
==================================

In D's logit :math:`l`, the minimax generator loss :math:`\log(1 - \sigma(l))` has slope
:math:`-\sigma(l) = -D`, which vanishes when D rejects the generator's samples (early in
training); the non-saturating loss :math:`-\log \sigma(l)` has slope :math:`-(1 - D)`. Their ratio
is :math:`(1 - D)/D` (:func:`ganlab.theory.gan.nonsaturating_gradient_ratio`). The closed forms
are checked against autograd of the written-out losses below. Theory page:
:doc:`/theory/nonsaturating`.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from ganlab.theory.gan import (
    minimax_generator_gradient,
    nonsaturating_generator_gradient,
    nonsaturating_gradient_ratio,
)

d = np.logspace(-4, np.log10(0.999), 300)
logit = np.log(d) - np.log1p(-d)
mm, ns = minimax_generator_gradient(logit), nonsaturating_generator_gradient(logit)

# %%
# Autograd of the losses written out, at the same logits.
l = torch.tensor(logit, requires_grad=True)
torch.log1p(-torch.sigmoid(l)).sum().backward()
print("minimax slope vs autograd:", float(np.abs(l.grad.numpy() - mm).max()))
l = torch.tensor(logit, requires_grad=True)
(-torch.log(torch.sigmoid(l))).sum().backward()
print("non-saturating slope vs autograd:", float(np.abs(l.grad.numpy() - ns).max()))
print("ratio at D = 0.001:", float(nonsaturating_gradient_ratio(1e-3)))

# %%
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
ax.plot(d, np.abs(mm), color="C3", lw=2, label=r"minimax: $|\partial_l \log(1 - D)| = D$")
ax.plot(d, np.abs(ns), color="C0", lw=2, label=r"non-saturating: $|\partial_l (-\log D)| = 1 - D$")
ax.set_xscale("logit")
ax.set_yscale("log")
ax.set_xlabel(r"$D(G(z))$ (logit scale)")
ax.set_ylabel("|d loss / d logit|")
ax.legend(loc="lower center")
ax.set_title("The minimax generator loss saturates as D(G(z)) → 0")
plt.show()
