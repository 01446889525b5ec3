r"""
Convergence of p_g to p_data (Proposition 2)
============================================

Goodfellow et al.'s Proposition 2: if G and D have enough capacity and at each step D is optimal
and :math:`p_g` moves along the gradient of :math:`V(D^*, G)`, then :math:`p_g \to p_\mathrm{data}`.
Here :math:`p_g` is a histogram on 200 bins updated by mirror descent on :math:`C(G) = V(D^*, G)`
(:func:`ganlab.experiments.convergence.convergence_experiment`, the experiment ``ganlab verify``
checks); :math:`C(q_t) + \log 4 = 2\,\mathrm{JSD}` falls towards 0, and the averaged iterate stays
within the mirror-descent bound. Theory page: :doc:`/theory/convergence`.
"""

import math

import matplotlib.pyplot as plt
import numpy as np

from ganlab.experiments.convergence import convergence_experiment

r = convergence_experiment(seed=0, budget="short")
gap = np.array(r.criterion) + math.log(4)
print(f"C(q_0) + log 4 = {gap[0]:.3f}; after {r.settings.steps} steps: {gap[-1]:.2e}")
print(f"averaged iterate: C + log 4 = {r.average_criterion + math.log(4):.2e} ≤ bound {r.bound:.2e}")

fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
a.plot(r.centres, r.p_data, "k", lw=2, label=r"$p_\mathrm{data}$ (bin masses)")
for step, q in sorted(r.snapshots.items()):
    a.plot(r.centres, q, lw=1, label=f"$p_g$ at step {step}")
a.set_xlabel("x")
a.set_ylabel("mass per bin")
a.legend(fontsize=8)
b.semilogy(np.arange(len(gap)) + 1, np.maximum(gap, 1e-16))
b.set_xscale("log")
b.set_xlabel("step + 1")
b.set_ylabel(r"$C(p_g) + \log 4 = 2\,\mathrm{JSD}(p_\mathrm{data} \| p_g)$")
b.set_title("C(G) falls to its minimum −log 4")
plt.show()
