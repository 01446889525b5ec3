"""Total variation between packed (product) distributions, the quantity behind PacGAN.

PacGAN (Lin, Khetan, Fanti & Oh, "PacGAN: The power of two samples in generative adversarial
networks", NeurIPS 2018) lets the discriminator judge m samples at once, i.e. compare the
product distributions P^m and Q^m instead of P and Q. Mode collapse is cheap in TV(P, Q)
(dropping a mode of mass ε costs only ε) but expensive in TV(P^m, Q^m) = 1 − (1 − ε)^m for
that example: the chance that a pack of m real samples hits a dropped mode grows with m. In
general TV(P^m, Q^m) is non-decreasing in m (marginalising a coordinate is a Markov kernel,
which cannot increase TV) and tends to 1 whenever P ≠ Q, since
    1 − BC(P, Q)^m ≤ TV(P^m, Q^m) ≤ √(1 − BC(P, Q)^{2m}),
with BC(P, Q) = Σ √(p q) < 1 the Bhattacharyya coefficient, which multiplies over products.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import torch
from scipy.special import comb, gammaln

from .divergences import Estimate, check_pair, mean_and_standard_error
from ..rng import torch_generator
from ..validation import check_int

#: Largest number of count vectors C(m + K − 1, K − 1) the exact sum will enumerate.
MAX_TYPES = 2_000_000


def count_vectors(k: int, m: int) -> np.ndarray:
    """All c in ℕ^k with Σ c = m (the "types" of length-m sequences over k symbols),
    as an int array [C(m + k − 1, k − 1), k]."""
    k, m = check_int("k", k), check_int("m", m)
    combos = np.array(list(itertools.combinations_with_replacement(range(k), m)), dtype=np.int64)
    counts = np.zeros((len(combos), k), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(len(combos)), m), combos.ravel()), 1)
    return counts


def log_multinomial(counts: np.ndarray) -> np.ndarray:
    """log (m choose c_1, …, c_k) = log m! − Σ log c_i!, for each row c of ``counts``."""
    counts = np.asarray(counts)
    return gammaln(counts.sum(axis=-1) + 1.0) - gammaln(counts + 1.0).sum(axis=-1)


def _log_type_probability(p: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """log P^m(type c) = log multinomial(c) + Σ_i c_i log p_i, with 0·log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(p)
        terms = np.where(counts > 0, counts * log_p, 0.0)  # 0·(−inf) is NaN before the where
    return log_multinomial(counts) + terms.sum(axis=1)


def packed_tv_discrete(p: Any, q: Any, m: int, *, max_types: int = MAX_TYPES) -> float:
    """TV(P^m, Q^m) = ½ Σ_{x ∈ [K]^m} |P^m(x) − Q^m(x)| exactly.

    P^m(x) depends on x only through its count vector c, so the K^m-term sum collapses to
    ½ Σ_c multinomial(m; c)·|Π p_i^{c_i} − Π q_i^{c_i}| over the C(m + K − 1, K − 1) count
    vectors, evaluated in log space.
    """
    _, p, q = check_pair(p, q)
    m = check_int("m", m)
    n_types = comb(m + p.size - 1, p.size - 1, exact=True)
    if n_types > max_types:
        raise ValueError(
            f"m={m} over K={p.size} outcomes has {n_types} count vectors, more than max_types={max_types}"
        )
    counts = count_vectors(p.size, m)
    a, b = _log_type_probability(p, counts), _log_type_probability(q, counts)
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    # |e^a − e^b| = e^hi (1 − e^{lo − hi}); rows where both are 0 contribute 0.
    with np.errstate(invalid="ignore"):
        diff = np.where(np.isneginf(hi), 0.0, np.exp(hi) * -np.expm1(lo - hi))
    return float(min(1.0, 0.5 * diff.sum()))


def bhattacharyya_coefficient(p: Any, q: Any) -> float:
    """BC(p, q) = Σ_i √(p_i q_i) in [0, 1]; BC(P^m, Q^m) = BC(P, Q)^m."""
    _, p, q = check_pair(p, q)
    return float(np.sum(np.sqrt(p * q)))


def packed_tv_bounds(p: Any, q: Any, m: int) -> tuple[float, float]:
    """(1 − BC^m, √(1 − BC^{2m})): lower and upper bounds on TV(P^m, Q^m) from
    1 − BC ≤ TV ≤ √(1 − BC²) applied to the product distributions."""
    m = check_int("m", m)
    bc = bhattacharyya_coefficient(p, q)
    return 1.0 - bc**m, math.sqrt(max(0.0, 1.0 - bc ** (2 * m)))


def packed_total_variation(
    p: Any, q: Any, m: int, *, n: int = 20_000, seed: int = 0, max_types: int = MAX_TYPES
) -> Estimate:
    """TV(P^m, Q^m) for m-sample packs.

    Probability vectors: exact (``packed_tv_discrete``). Targets with densities: Monte Carlo,
    TV = E_{x ~ P^m}[(1 − Q^m(x)/P^m(x))_+] with log Q^m(x) − log P^m(x) = Σ_j log q(x_j) − log p(x_j),
    averaged over n packs of m samples; each term lies in [0, 1] and the error is its standard
    error.
    """
    kind, p, q = check_pair(p, q)
    m = check_int("m", m)
    if kind == "discrete":
        return Estimate(packed_tv_discrete(p, q, m, max_types=max_types), 0.0, "exact")
    n = check_int("n", n, minimum=2)
    x = p.sample(n * m, torch_generator(seed), dtype=torch.float64)
    log_ratio = (q.log_prob(x) - p.log_prob(x)).reshape(n, m).sum(dim=1)
    return Estimate(*mean_and_standard_error((-torch.expm1(log_ratio)).clamp(min=0.0)), "monte_carlo")
