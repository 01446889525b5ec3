"""A data source with one known distribution per member: member i draws from its own Gaussian
mixture, so a family of fixed generators (one p_g per member) trains in one batched run
(``Trainer(cfg, fake_source=MixtureFamily([...]))``).

Member i's draws are exactly those of ``TargetSource(targets[i])`` for its seed: component k with
probability w_k by inverting the cumulative weights at one uniform of stream (purpose, step, sub),
then μ_k + L_k ε with ε ~ N(0, I) from stream (purpose/eps, step, sub).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..rng import Streams
from ..theory.targets import GaussianMixture


def _padded(targets: Sequence[GaussianMixture]) -> tuple[torch.Tensor, ...]:
    """Cumulative weights [N, K] (padded with 1.0, never chosen: u < 1), means [N, K, d] and
    Cholesky factors [N, K, d, d] (padded with I), modes per member [N]."""
    k_max, d = max(t.n_modes for t in targets), targets[0].dim
    cum = torch.ones(len(targets), k_max, dtype=torch.float64)
    means = torch.zeros(len(targets), k_max, d, dtype=torch.float64)
    tril = torch.eye(d, dtype=torch.float64).repeat(len(targets), k_max, 1, 1)
    for i, t in enumerate(targets):
        cum[i, : t.n_modes] = t.weights.cumsum(0)
        means[i, : t.n_modes] = t.means
        tril[i, : t.n_modes] = t._scale_tril
    modes = torch.tensor([t.n_modes for t in targets], dtype=torch.int64)
    return cum, means, tril, modes


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
        self._tables = tuple(v.to(device) for v in _padded(self.targets))

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        if self._tables is None:
            self.prepare(streams, streams.device)
        cum, means, tril, modes = self._tables
        u = streams.uniform(purpose, step, sub, (n,), torch.float64)
        k = torch.minimum(torch.searchsorted(cum, u, right=True), modes[:, None] - 1)  # [N, n]
        eps = streams.normal(purpose + "/eps", step, sub, (n, self.shape[0]), torch.float64)
        rows = torch.arange(len(self.targets), device=k.device)[:, None]
        return (means[rows, k] + (tril[rows, k] @ eps[..., None])[..., 0]).to(dtype)

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        raise ValueError("a mixture family gives no class labels")
