"""Toy target distributions with exact densities, seeded sampling and known mode centres.

Every Gaussian mixture is built on ``torch.distributions`` (``MixtureSameFamily`` of
``MultivariateNormal``) for its exact ``log_prob``. Sampling takes an explicit
``torch.Generator`` so that a seed fixes the sample (``torch.distributions.sample`` only reads
the global RNG).

Each target has one sampler, ``from_noise(u, eps)``: one float64 uniform u and ``normals`` float64
standard normals ε per sample → the sample. ``sample`` feeds it a torch.Generator's numbers (n
uniforms, then n × normals normals); a run's data source (``ganlab.data.sources.TargetSource``)
feeds it counter-based streams.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from ..rng import inverse_cdf, torch_generator
from ..validation import check_choice, check_cloud, check_int, check_positive, check_weights


class NoDensityError(NotImplementedError):
    """Raised by sample-only targets (e.g. the swiss roll) when a density is asked for."""


def _generator(seed_or_gen: int | torch.Generator | None) -> torch.Generator | None:
    if seed_or_gen is None or isinstance(seed_or_gen, torch.Generator):
        return seed_or_gen
    return torch_generator(int(seed_or_gen))


class Sampler:
    """Seeded sampling through the target's ``from_noise`` (see the module docstring)."""

    normals: int  # standard normals per sample

    def from_noise(self, u: torch.Tensor, eps: torch.Tensor | None) -> torch.Tensor:
        """Samples [..., n, dim] from float64 uniforms u [..., n] and normals ε [..., n, normals]
        (None when ``normals`` is 0)."""
        raise NotImplementedError

    def seeded_noise(self, n: int, generator: int | torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n uniforms, then n × ``normals`` standard normals, float64, from the generator (or seed)."""
        n = check_int("n", n)
        g = _generator(generator)
        u = torch.rand(n, generator=g, dtype=torch.float64)
        eps = torch.randn(n, self.normals, generator=g, dtype=torch.float64) if self.normals else None
        return u, eps

    def sample(
        self, n: int, generator: int | torch.Generator | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        return self.from_noise(*self.seeded_noise(n, generator)).to(dtype)


def mixture_points(means: torch.Tensor, scale_tril: torch.Tensor, k: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """μ_k + L_k ε (L_k L_kᵀ = Σ_k) for component indices k [...] into the tables means [K, d] and
    scale_tril [K, d, d], and float64 normals ε [..., d]."""
    return means[k] + (scale_tril[k] @ eps[..., None])[..., 0]


@dataclass(frozen=True, eq=False)
class GaussianMixture(Sampler):
    """p(x) = Σ_k w_k N(x; μ_k, Σ_k), exact density, seeded sampling.

    ``means`` [K, d], ``covariances`` [K, d, d], ``weights`` [K] summing to 1.
    Mode centres are the means; ``mode_stds`` [K, d] are the per-dimension standard deviations
    sqrt(diag Σ_k) used by the PacGAN/VEEGAN high-quality-sample rule.
    """

    means: torch.Tensor
    covariances: torch.Tensor
    weights: torch.Tensor
    name: str = "mixture"
    has_density: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        means = torch.as_tensor(self.means, dtype=torch.float64)
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or means.shape[0] == 0:
            raise ValueError(f"means must have shape [K, d] with K >= 1, got {tuple(means.shape)}")
        if not torch.isfinite(means).all():
            raise ValueError(f"means must be finite, got {means.tolist()}")
        k, d = means.shape
        cov = torch.as_tensor(self.covariances, dtype=torch.float64)
        if cov.shape != (k, d, d):
            raise ValueError(
                f"covariances must have shape {(k, d, d)} to match means {(k, d)}, "
                f"got {tuple(cov.shape)}"
            )
        if not torch.isfinite(cov).all() or not torch.allclose(cov, cov.transpose(1, 2)):
            raise ValueError("covariances must be finite and symmetric")
        eig = torch.linalg.eigvalsh(cov)
        if (eig <= 0).any():
            bad = int((eig <= 0).any(dim=1).nonzero()[0])
            raise ValueError(
                f"covariance of component {bad} is not positive definite "
                f"(eigenvalues {eig[bad].tolist()}); every std must be > 0"
            )
        w = check_weights("weights", self.weights, size=k)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", cov)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "_scale_tril", torch.linalg.cholesky(cov))
        cum = w.cumsum(0)
        # the division makes the last entry exactly 1, and every entry after the last positive
        # weight too, so a zero weight at the end is never drawn even when the sum rounds below 1
        object.__setattr__(self, "_cumulative", cum / cum[-1])
        object.__setattr__(self, "_on_device", {})  # device → (cumulative, means, scale_tril)

    # -- structure -------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def normals(self) -> int:
        return self.dim

    @property
    def n_modes(self) -> int:
        return self.means.shape[0]

    @property
    def centres(self) -> torch.Tensor:
        return self.means

    @property
    def mode_stds(self) -> torch.Tensor:
        return torch.diagonal(self.covariances, dim1=1, dim2=2).sqrt()

    def distribution(self) -> MixtureSameFamily:
        """torch's mixture, built on first use: building a MultivariateNormal imports torch's
        symbolic-shapes machinery (about 0.5 s), which a training run that never asks for a
        density need not pay at start-up."""
        if "_distribution" not in self.__dict__:
            # logits, not probs: Categorical clamps a zero probability to eps, which would give a
            # dropped mode (weight 0) a spurious density; log 0 = −inf gives it exactly none
            object.__setattr__(self, "_distribution", MixtureSameFamily(
                Categorical(logits=torch.log(self.weights)),
                MultivariateNormal(self.means, scale_tril=self._scale_tril, validate_args=False),
                validate_args=False,
            ))
        return self._distribution

    # -- density ---------------------------------------------------------------------------
    def log_prob(self, x: Any) -> torch.Tensor:
        """Exact log p(x) in float64 for x of shape [n, d] (or [n] when d = 1)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        if self.dim == 1 and (x.ndim == 1 or x.shape[-1] != 1):
            x = x[..., None]
        if x.shape[-1] != self.dim:
            raise ValueError(f"points have dimension {x.shape[-1]}, target {self.name} has {self.dim}")
        return self.distribution().log_prob(x)

    def prob(self, x: Any) -> torch.Tensor:
        return self.log_prob(x).exp()

    # -- sampling --------------------------------------------------------------------------
    # The mixture's one sampler: a component k from one uniform u (``components``), then the point
    # μ_k + L_k ε from d standard normals ε (``place``).
    def tables(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(normalised cumulative weights [K], means [K, d], scale_tril [K, d, d]) on ``device``,
        moved there once."""
        device = torch.device(device)
        if device not in self._on_device:
            self._on_device[device] = tuple(v.to(device) for v in (self._cumulative, self.means, self._scale_tril))
        return self._on_device[device]

    def components(self, u: torch.Tensor) -> torch.Tensor:
        """Component indices k (int64, u's shape) with P(k) = w_k at float64 uniforms u ∈ [0, 1)
        (``rng.inverse_cdf``: a zero weight is never drawn, even at u = 0)."""
        return inverse_cdf(self.tables(u.device)[0], u)

    def place(self, k: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """μ_k + L_k ε (L_k L_kᵀ = Σ_k) for indices k [...] and float64 normals ε [..., d]."""
        _, means, tril = self.tables(eps.device)
        return mixture_points(means, tril, k, eps)

    def from_noise(self, u: torch.Tensor, eps: torch.Tensor | None) -> torch.Tensor:
        return self.place(self.components(u), eps)

    def sample_with_modes(
        self, n: int, generator: int | torch.Generator | None = None, dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n samples [n, d] and the index of the component each came from: n uniforms, then n × d
        normals from the generator (for n > 1 the components torch.multinomial(weights, n,
        replacement=True) draws: it inverts the same uniforms, and the normals follow them)."""
        u, eps = self.seeded_noise(n, generator)
        comp = self.components(u)
        return self.place(comp, eps).to(dtype), comp

    def __repr__(self) -> str:
        return f"GaussianMixture(name={self.name!r}, modes={self.n_modes}, dim={self.dim})"


class SampleOnly(Sampler):
    """A target that samples but has no density: every density query raises ``NoDensityError``."""

    name: str

    def _no_density(self, what: str):
        raise NoDensityError(f"target {self.name!r} is sample-only: it has no closed-form {what}")

    def log_prob(self, x: Any) -> torch.Tensor:
        self._no_density("density")

    def prob(self, x: Any) -> torch.Tensor:
        self._no_density("density")

    @property
    def centres(self) -> torch.Tensor:
        self._no_density("mode centres")

    @property
    def mode_stds(self) -> torch.Tensor:
        self._no_density("mode stds")

    @property
    def weights(self) -> torch.Tensor:
        self._no_density("mode weights")


@dataclass(frozen=True, eq=False)
class SwissRoll(SampleOnly):
    """The WGAN-GP toy script's swiss roll: sklearn's make_swiss_roll(noise) columns (x, z) / scale.

    t ~ 1.5π(1 + 2U), point = (t cos t, t sin t) + noise·N(0, I), divided by ``scale``.
    Sample-only: it has no closed-form density, and ``log_prob`` raises ``NoDensityError``.
    """

    noise: float = 0.25
    scale: float = 7.5
    name: str = "swissroll"
    has_density: bool = field(default=False, init=False)
    dim: int = field(default=2, init=False)

    normals = 2

    def __post_init__(self) -> None:
        check_positive("noise", self.noise)
        check_positive("scale", self.scale)

    def from_noise(self, u: torch.Tensor, eps: torch.Tensor | None) -> torch.Tensor:
        t = 1.5 * math.pi * (1 + 2 * u)
        xy = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=-1)
        return (xy + self.noise * eps) / self.scale


@dataclass(frozen=True, eq=False)
class ParallelLines(SampleOnly):
    """Arjovsky et al. (2017), Example 1: P_θ is the law of (θ, Z), Z ~ U[0, 1], a unit segment on
    the vertical line x = θ. Two of them with θ ≠ θ' have disjoint supports: JSD = log 2, KL = +∞,
    TV = 1, while W1 = |θ − θ'| (moving every point horizontally is optimal, and
    f(x, y) = ±x is a 1-Lipschitz critic that attains it).

    Sample-only: it has no density on the plane, and ``log_prob`` raises ``NoDensityError``.
    """

    theta: float = 0.0
    name: str = "parallel-lines"
    has_density: bool = field(default=False, init=False)
    dim: int = field(default=2, init=False)

    normals = 0

    def __post_init__(self) -> None:
        if isinstance(self.theta, bool) or not isinstance(self.theta, (int, float)) or not math.isfinite(self.theta):
            raise ValueError(f"theta must be a finite number, got {self.theta!r}")

    def from_noise(self, u: torch.Tensor, eps: torch.Tensor | None) -> torch.Tensor:
        return torch.stack([torch.full_like(u, float(self.theta)), u], dim=-1)


Target = GaussianMixture | SwissRoll | ParallelLines


# -- constructors -------------------------------------------------------------------------
def isotropic_mixture(means: Any, std: float | Any, weights: Any = None, name: str = "mixture") -> GaussianMixture:
    """Mixture of N(μ_k, σ_k² I); ``std`` is one σ for all modes or one per mode."""
    means = torch.as_tensor(means, dtype=torch.float64)
    if means.ndim == 1:
        means = means[:, None]
    k, d = means.shape
    stds = torch.as_tensor(std, dtype=torch.float64).flatten()
    if stds.numel() == 1:
        stds = torch.full((k,), check_positive("std", float(stds)), dtype=torch.float64)
    if stds.numel() != k:
        raise ValueError(f"std has {stds.numel()} entries for {k} modes")
    for i, s in enumerate(stds.tolist()):
        check_positive(f"std[{i}]", s)
    if weights is None:
        weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
    cov = stds[:, None, None] ** 2 * torch.eye(d, dtype=torch.float64)
    return GaussianMixture(means, cov, weights, name=name)


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01, weights: Any = None) -> GaussianMixture:
    """n_modes distinct centres (r cos 2πk/n, r sin 2πk/n), k = 0..n-1 (PacGAN's ring; not
    ``linspace(0, 2π, n)``, which repeats the first centre)."""
    n_modes = check_int("n_modes", n_modes)
    check_positive("radius", radius)
    angle = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return isotropic_mixture(centres, std, weights, name=f"ring{n_modes}")


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05, weights: Any = None) -> GaussianMixture:
    """side² centres spacing·{-(side-1)/2, ..., (side-1)/2}² (PacGAN's grid: {-4,-2,0,2,4}²)."""
    side = check_int("side", side)
    check_positive("spacing", spacing)
    axis = spacing * (torch.arange(side, dtype=torch.float64) - (side - 1) / 2)
    centres = torch.cartesian_prod(axis, axis)
    return isotropic_mixture(centres, std, weights, name=f"grid{side * side}")


def mixture_1d(means: Any = (-2.0, 2.0), stds: Any = (0.5, 0.5), weights: Any = None) -> GaussianMixture:
    """1-D Gaussian mixture Σ_k w_k N(μ_k, σ_k²)."""
    return isotropic_mixture(torch.as_tensor(means, dtype=torch.float64)[:, None], stds, weights, name="mixture1d")


def metz_ring8() -> GaussianMixture:
    """Metz et al. 2017 (unrolled GANs), appendix A: 8 centres on a circle of radius 2, std 0.02 —
    ``ring8`` (the notebook's scale, radius 1, std 0.01) scaled by 2."""
    m = ring(8, radius=2.0, std=0.02)
    return isotropic_mixture(m.means, 0.02, name="metz-ring8")


def wgan_gp_8gaussians() -> GaussianMixture:
    """WGAN-GP toy script (gulrajani/improved_wgan_training, gan_toy.py): 8 centres on a circle of
    radius 2, std 0.02, the whole data set then divided by 1.414."""
    m = ring(8, radius=2.0, std=0.02)
    return isotropic_mixture(m.means / 1.414, 0.02 / 1.414, name="wgan-gp-8gaussians")


def wgan_gp_25gaussians() -> GaussianMixture:
    """WGAN-GP toy script: centres 2·{-2..2}², std 0.05, the data set then divided by 2.828."""
    m = grid(5, spacing=2.0, std=0.05)
    return isotropic_mixture(m.means / 2.828, 0.05 / 2.828, name="wgan-gp-25gaussians")


TARGETS: dict[str, Callable[..., Target]] = {
    "ring8": ring,
    "grid25": grid,
    "metz-ring8": metz_ring8,
    "mixture1d": mixture_1d,
    "wgan-gp-8gaussians": wgan_gp_8gaussians,
    "wgan-gp-25gaussians": wgan_gp_25gaussians,
    "swissroll": SwissRoll,
    "parallel-lines": ParallelLines,
    "mixture": GaussianMixture,
}


def make_target(name: str, **kwargs: Any) -> Target:
    """Build a registered target by name, e.g. ``make_target("grid25", std=0.1)``."""
    check_choice("target", name, TARGETS)
    return TARGETS[name](**kwargs)


def as_cloud(name: str, x: Any, target: Target | None = None) -> torch.Tensor:
    """Validate a sample cloud against an optional target's dimension."""
    return check_cloud(name, x, dim=None if target is None else target.dim)
