"""Hypothesis strategies shared by the property tests."""

import numpy as np
from hypothesis import strategies as st

from ganlab.theory.targets import mixture_1d


@st.composite
def prob_vectors(draw, k=None, zeros=True):
    """A probability vector over k outcomes; entries may be exactly 0 (but not all)."""
    k = k or draw(st.integers(1, 6))
    entry = st.one_of(st.just(0.0), st.floats(1e-4, 1.0)) if zeros else st.floats(1e-4, 1.0)
    w = np.array(draw(st.lists(entry, min_size=k, max_size=k)))
    if w.sum() == 0:
        w[draw(st.integers(0, k - 1))] = 1.0
    return w / w.sum()


@st.composite
def prob_pairs(draw, max_k=6, zeros=True):
    """Two probability vectors over the same 1..max_k outcomes."""
    k = draw(st.integers(1, max_k))
    return draw(prob_vectors(k, zeros)), draw(prob_vectors(k, zeros))


@st.composite
def mixtures_1d(draw, max_modes=3):
    """A 1-D Gaussian mixture with means in [-5, 5], stds in [0.05, 2] and positive weights."""
    k = draw(st.integers(1, max_modes))
    means = draw(st.lists(st.floats(-5, 5), min_size=k, max_size=k))
    stds = draw(st.lists(st.floats(0.05, 2.0), min_size=k, max_size=k))
    return mixture_1d(means, stds, draw(prob_vectors(k, zeros=False)))
