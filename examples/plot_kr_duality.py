r"""
Kantorovich–Rubinstein duality with trained critics
===================================================

:math:`W_1(P, Q) = \sup_{\|f\|_L \le 1} \mathbb{E}_P f - \mathbb{E}_Q f`. A WGAN critic trained
alone against a fixed, known :math:`Q` estimates the right-hand side. With a gradient penalty
(λ = 10) the maximiser's value is :math:`W_1` plus a bias the penalty adds, known in closed form
in 1-D (:func:`ganlab.experiments.critics.gp_optimal_estimate_1d`); with weight clipping the
estimate is :math:`W_1` times a Lipschitz constant set by the clip value, and never above
:math:`\mathrm{Lip}(f) \cdot W_1`. This runs the experiment ``ganlab verify`` checks at its short
budget (:func:`ganlab.experiments.duality.duality_experiment`: critics trained by the engine, four
seeds per arm, in one batched run per arm). Theory page: :doc:`/theory/kr_duality`.
"""

import matplotlib.pyplot as plt
import numpy as np

from ganlab.experiments.duality import duality_experiment

r = duality_experiment(seed=0, budget="short")

# %%
# Gradient-penalty critics: the estimate per seed against W1 and against W1 + the penalty's bias
# (known in 1-D; in 2-D the bias is not known in closed form and the row compares with W1). In 1-D
# the penalty :math:`(|f'| - 1)^2` is a double well in the slope: a critic that starts with the wrong sign
# can stay there, near −W1 — the claims check the seeds' spread, not each seed.
for name, pair in r.gp.items():
    est = ", ".join(f"{e:.3f}" for e, _ in pair.estimates)
    print(f"{name:>18}: W1 = {pair.w1:.3f}, W1 + penalty bias = {pair.predicted:.3f}; critics per seed: {est}")

# %%
# Clipped critics: E_P f − E_Q f never exceeds Lip(f)·W1 (Lip(f) bounded by the product of the
# weight matrices' spectral norms), and the ratio estimate/W1 depends on the clip value only.
for c in r.clip:
    est = np.array([e for e, _ in c.estimates])
    bound = np.array(c.lipschitz) * c.shift
    print(f"clip {c.clip:<5} shift {c.shift}: estimate/W1 = {np.mean(est) / c.shift:.3e}, "
          f"largest estimate/(Lip·W1) = {np.max(est / bound):.3f} (≤ 1)")

fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
names = list(r.gp)
for i, name in enumerate(names):
    pair = r.gp[name]
    est = [e for e, _ in pair.estimates]
    a.plot([i] * len(est), est, "o", mfc="none", color="C0", label="critics (one per seed)" if i == 0 else None)
    a.plot([i - 0.25, i + 0.25], [pair.w1] * 2, "k-", label="exact $W_1$" if i == 0 else None)
    a.plot([i - 0.25, i + 0.25], [pair.predicted] * 2, "C3--", label="$W_1$ + penalty bias" if i == 0 else None)
a.set_xticks(range(len(names)), names, fontsize=8)
a.set_ylabel(r"$\mathbb{E}_P f - \mathbb{E}_Q f$")
a.set_title("gradient penalty, λ = 10")
a.legend(fontsize=8)
for c in r.clip:
    est = [e / c.shift for e, _ in c.estimates]
    b.plot([c.clip] * len(est), est, "o", mfc="none", color="C0" if c.shift == 0.2 else "C1",
           label=f"shift {c.shift}" if c.clip == r.clip[0].clip else None)
b.set_xscale("log")
b.set_yscale("log")
b.set_xlabel("clip value c")
b.set_ylabel(r"estimate / $W_1$")
b.set_title("weight clipping: the scale is set by c")
b.legend(fontsize=8)
plt.show()
