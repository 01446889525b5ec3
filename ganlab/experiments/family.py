"""A data source with one known distribution per member: member i draws from its own Gaussian
mixture, so a family of fixed generators (one p_g per member) trains in one batched run
(``Trainer(cfg, fake_source=MixtureFamily([...]))``).

Member i's draws are those of ``TargetSource(targets[i])`` for its seed, through the mixture's own
sampler: ``rng.inverse_cdf`` of its normalised cumulative weights at one uniform of stream
(purpose, step, sub), then ``targets.mixture_points`` μ_k + L_k ε with ε ~ N(0, I) from stream
(purpose/eps, step, sub) — on the members' tables side by side.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..rng import Streams, inverse_cdf
from ..theory.targets import GaussianMixture, mixture_points


def _tables(targets: Sequence[GaussianMixture]) -> tuple[torch.Tensor, ...]:
    """Each member's normalised cumulative weights [N, K] (padded with 1.0, never reached: its own
    last entry is exactly 1 > u), and every member's means and Cholesky factors one after another,
    [N·K, d] and [N·K, d, d] (padded with 0 and I), with each member's first row [N, 1]."""
    k_max, d = max(t.n_modes for t in targets), targets[0].dim
    n = len(targets)
    cum = torch.ones(n, k_max, dtype=torch.float64)
    means = torch.zeros(n * k_max, d, dtype=torch.float64)
    tril = torch.eye(d, dtype=torch.float64).repeat(n * k_max, 1, 1)
    for i, t in enumerate(targets):
        c, mu, l = t.tables()
        cum[i, : t.n_modes] = c
        means[i * k_max: i * k_max + t.n_modes] = mu
        tril[i * k_max: i * k_max + t.n_modes] = l
    first = torch.arange(n, dtype=torch.int64)[:, None] * k_max
    return cum, means, tril, first


class MixtureFamily:
    """Fresh samples of ``targets[i]`` for member i (Gaussian mixtures of one dimension)."""

    classes = 0
    target = None  # no single distribution

    def __init__(self, targets: Sequence[GaussianMixture]):
        targets = list(targets)
        if not targets or not all(isinstance(t, GaussianMixture) for t in targets):
            raise ValueError(f"a mixture family needs Gaussian mixtures, got {targets!r}")
        if len({t.dim for t in targets}) != 1:
            raise ValueError(f"the family's targets differ in dimension: {[t.dim for t in targets]}")
        self.targets = targets
        self.shape = (targets[0].dim,)
        self._tables: tuple[torch.Tensor, ...] | None = None

    def prepare(self, streams: Streams, device: torch.device) -> None:
        if streams.n != len(self.targets):
            raise ValueError(f"the family has {len(self.targets)} targets for {streams.n} members")
        self._tables = tuple(v.to(device) for v in _tables(self.targets))

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        if self._tables is None:
            self.prepare(streams, streams.device)
        cum, means, tril, first = self._tables
        k = inverse_cdf(cum, streams.uniform(purpose, step, sub, (n,), torch.float64))  # [N, n]
        eps = streams.normal(purpose + "/eps", step, sub, (n, self.shape[0]), torch.float64)
        return mixture_points(means, tril, first + k, eps).to(dtype)

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        raise ValueError("a mixture family gives no class labels")
