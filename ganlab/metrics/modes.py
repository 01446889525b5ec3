"""Sample-quality and mode-coverage metrics for toy targets with known modes.

Mode metrics (``nearest_mode``, ``mode_metrics``) follow the published 2-D ring/grid protocol of
PacGAN and VEEGAN. What their public sources do, exactly:

* PacGAN, ``fjxmlzn/PacGAN``, file ``synthetic_data_experiments/PacGAN/pacgan/extensions.py``,
  class ``MetricLogger`` (used by ``synthetic_data_experiments/2DGrid_GAN&PacGAN/pacgan_task.py``
  and the ring / ALI variants; the samples are the 2,500 points ``GraphLogger`` pickles each epoch,
  ``num_log_figure_sample = 2500`` in ``2DGrid_GAN&PacGAN/config.py``):

  - distance of a sample x to mode j: ``sqrt(sum((x - mean_j)**2 / diag(variance_j)))``, i.e. the
    Euclidean distance in units of the per-dimension std of that mode (the config passes real
    variances, ``0.05 ** 2 * eye(2)`` for the grid, ``0.01 ** 2 * eye(2)`` for the ring);
  - each sample goes to the mode at the smallest such distance (strict ``<`` in a loop over j, so a
    tie goes to the lowest index);
  - ``dis_thre = 3``: a sample counts only if that smallest distance is ``< 3`` (strict). Only those
    "good points" enter the per-mode histogram ``detail_of_coverage``; samples farther than the
    threshold from every centre are dropped, not put in any bin;
  - "mode coverage" = number of non-zero bins; "good points percentage" = sum of the histogram /
    number of samples (all of them, good or not);
  - the histogram is normalised by its own sum (the number of good points), and the logger writes
    its entropy "entropy of coverage" (``scipy.stats.entropy``: empty bins contribute 0) and its JSD
    against the uniform distribution ``[1/K] * K``. The repository has no line that computes the
    2-D "reverse KL" the paper tabulates; what the logger records fixes it for the uniform target
    the code uses (``x_mode_priors = None``): ``KL(p_hat || U) = log K - entropy of coverage``, over
    good points only, empty bins contributing 0. That is what ``mode_metrics`` computes,
    generalised to the target's weights as ``KL(p_hat || w)``;
  - the only explicit KL in the repository, ``JSD().KLD(p, q)`` in
    ``stacked_MNIST_experiments/VEEGAN_experiment/model.py`` (``log_metrics``), is the stacked-MNIST
    one: its histogram is over *all* generated samples (every sample is classified; there is no
    quality threshold), against ``q = 1/1000``, with bins where ``p == 0`` skipped (``0 log 0 = 0``)
    and a ``ValueError`` if ``q`` has a zero (its counts are packed into the first slots of ``p``
    regardless of class label, harmless only because ``q`` is uniform);
  - with zero good points the 2-D logger divides 0 by 0 and logs NaN (numpy warns).
  - Other details: the log-likelihood in the same logger passes ``diag(variance)`` as the *scale*
    (std) of ``scipy.stats.norm``, inconsistent with the distance above (which uses it as a
    variance); and zero variances are patched with another entry ("ugly fix for 1200D"). Neither
    matters here: we take the stds from the target (``target.mode_stds``) and they are all > 0.

* VEEGAN, ``akashgit/VEEGAN``: that repository holds the project page and a Julia MNIST notebook,
  no evaluation code. Its page ``index.md`` (section "Synthetic Dataset") defines: a sample is high
  quality "if it is within three standard deviations of the nearest mode" for 2-D (ten for the
  1200-D mixture); "number of modes captured" = number of mixture components whose mean is nearest
  to at least one high-quality sample; percentage of high-quality samples; 2,500 samples, averaged
  over five runs. It reports KL only for stacked MNIST, none for the 2-D mixtures, and does not say
  which distance (it does not specify whether "three standard deviations" is per dimension, nor
  ``<`` vs ``<=``).

Where they differ: VEEGAN's text does not fix the distance; PacGAN's code does (std-normalised
Euclidean, strict ``< 3``), and we follow PacGAN. VEEGAN gives no 2-D KL; PacGAN's paper does, and
its code only logs the entropy / JSD from which it follows. PacGAN's stacked-MNIST KL uses all
samples, its 2-D quantities only the good ones.

k-NN extras: ``precision_recall`` follows Kynkäänniemi et al. 2019
(``kynkaat/improved-precision-and-recall-metric``, ``precision_recall.py``: inside a ball when
distance ``<=`` radius) and ``density_coverage`` follows Naeem et al. 2020
(``clovaai/generative-evaluation-prdc``, ``prdc/prdc.py``: strict ``<``). Both radii are the
distance to the k-th nearest *other* point of the same cloud.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from ..theory.targets import NoDensityError
from ..validation import check_cloud, check_int, check_positive, check_same_dim

__all__ = [
    "ModeMetrics",
    "PrecisionRecall",
    "DensityCoverage",
    "nearest_mode",
    "mode_metrics",
    "w1_to_target",
    "precision_recall",
    "density_coverage",
]

# Elements (float64) of the largest temporary a chunk may build: 2**22 ≈ 4.2 M, 32 MiB.
_CHUNK_ELEMENTS = 1 << 22


def _target_name(target: Any) -> str:
    return repr(getattr(target, "name", type(target).__name__))


def _mode_structure(target: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(centres [K, d], stds [K, d], weights [K]) in float64, or a ValueError naming the target."""
    try:
        centres = target.centres
        stds = target.mode_stds
        weights = target.weights
    except (NoDensityError, AttributeError, NotImplementedError):
        raise ValueError(
            f"target {_target_name(target)} has no mode centres (a sample-only target such as the "
            "swiss roll); mode metrics need a mixture with known centres and stds"
        ) from None
    centres = torch.as_tensor(centres, dtype=torch.float64)
    stds = torch.as_tensor(stds, dtype=torch.float64)
    weights = torch.as_tensor(weights, dtype=torch.float64)
    if (stds <= 0).any() or not torch.isfinite(stds).all():
        raise ValueError(
            f"target {_target_name(target)} has a mode std that is not > 0: {stds.tolist()}"
        )
    return centres, stds, weights


def _chunk_rows(cols: int) -> int:
    return max(1, _CHUNK_ELEMENTS // max(1, cols))


def _check_chunk_size(chunk_size: int | None, cols: int) -> int:
    if chunk_size is None:
        return _chunk_rows(cols)
    return check_int("chunk_size", chunk_size)


# -- nearest mode ----------------------------------------------------------------------------
def nearest_mode(
    samples: Any, target: Any, *, chunk_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Index [n] (int64) of each sample's nearest mode and its distance [n] (float64) in std units.

    dist_k(x) = ‖(x − c_k) / σ_k‖₂ = sqrt(Σ_i (x_i − c_{k,i})² / σ_{k,i}²), with σ_k = the per-dimension
    std of mode k (``target.mode_stds``), i.e. the Mahalanobis distance of the diagonal of Σ_k; this is
    PacGAN's ``MetricLogger`` distance (``synthetic_data_experiments/PacGAN/pacgan/extensions.py``).
    The nearest mode is argmin_k dist_k (ties: lowest index, as PacGAN's strict ``<`` loop).

    Computed directly (no ‖x‖² − 2x·c + ‖c‖² expansion, so no cancellation) in float64, in chunks of
    ``chunk_size`` rows (default: about 4 M elements per temporary, 32 MiB): 100k samples × 25 modes
    in 2-D take about 0.1 s on this project's 2-core machines.
    """
    centres, stds, _ = _mode_structure(target)
    x = check_cloud("samples", samples, dim=centres.shape[1]).to(torch.float64)
    k, d = centres.shape
    rows = _check_chunk_size(chunk_size, k * d)
    inv = 1.0 / stds  # [K, d]
    idx = torch.empty(x.shape[0], dtype=torch.int64)
    dist = torch.empty(x.shape[0], dtype=torch.float64)
    for start in range(0, x.shape[0], rows):
        xc = x[start : start + rows]
        z = (xc[:, None, :] - centres[None, :, :]) * inv[None, :, :]  # [c, K, d]
        sq = z.square().sum(dim=2)  # [c, K]
        m, j = sq.min(dim=1)
        idx[start : start + rows] = j
        dist[start : start + rows] = m.sqrt()
    return idx, dist


# -- mode metrics ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModeMetrics:
    """PacGAN/VEEGAN mode statistics of a sample cloud against a mixture target.

    ``modes_captured``: modes nearest to at least one high-quality sample; ``n_modes``: K;
    ``high_quality_fraction``: high-quality samples / all samples; ``reverse_kl``:
    KL(p_hat ‖ w) of the high-quality histogram (NaN when there is no high-quality sample);
    ``mode_counts``: high-quality samples per mode (length K).
    """

    modes_captured: int
    n_modes: int
    high_quality_fraction: float
    reverse_kl: float
    mode_counts: tuple[int, ...]


def _reverse_kl(counts: np.ndarray, weights: np.ndarray) -> float:
    """KL(p_hat ‖ w) = Σ_{k: p_k > 0} p_k log(p_k / w_k), p = counts / Σ counts.

    Empty bins contribute 0 (0 log 0 = 0, as ``scipy.stats.entropy`` and PacGAN's ``KLD``); mass on
    a mode of weight 0 gives +inf (PacGAN's ``KLD`` raises instead); no counts at all gives NaN.
    """
    total = counts.sum()
    if total == 0:
        return math.nan
    nz = counts > 0
    p = counts[nz] / total
    w = weights[nz]
    if (w == 0).any():
        return math.inf
    return max(0.0, math.fsum((p * np.log(p / w)).tolist()))


def mode_metrics(samples: Any, target: Any, *, threshold: float = 3.0) -> ModeMetrics:
    """Modes captured, high-quality fraction and reverse KL of ``samples`` against ``target``.

    PacGAN's code (``fjxmlzn/PacGAN``, ``synthetic_data_experiments/PacGAN/pacgan/extensions.py``,
    ``MetricLogger.do``), which VEEGAN's definition (``akashgit/VEEGAN``, ``index.md``) agrees with:

    * each sample goes to its nearest mode in std units (``nearest_mode``);
    * it is *high quality* when that distance is ``< threshold`` (strict; default 3, PacGAN's
      ``dis_thre``);
    * ``mode_counts[k]`` = high-quality samples whose nearest mode is k; samples that are not high
      quality enter no bin;
    * ``modes_captured`` = number of k with ``mode_counts[k] > 0``;
    * ``high_quality_fraction`` = Σ mode_counts / n (n = all samples);
    * ``reverse_kl`` = KL(p_hat ‖ w) = Σ_{k: p_k>0} p_k log(p_k / w_k), p_hat = mode_counts /
      Σ mode_counts (normalised over the high-quality samples only), w = ``target.weights``. With
      uniform weights this is log K − H(p_hat), H = PacGAN's logged "entropy of coverage". Empty
      bins contribute 0; mass on a zero-weight mode gives +inf. Its plug-in bias for a sampler
      equal to the target is about (K − 1) / (2 n_hq) (2 n_hq KL → χ²_{K−1}).

    Zero high-quality samples: p_hat is 0/0, undefined. PacGAN's logger then writes NaN (after a
    numpy division warning); we return ``reverse_kl = nan`` explicitly, with no warning, alongside
    ``modes_captured = 0`` and ``high_quality_fraction = 0.0``. Test for the case with
    ``modes_captured == 0``; aggregate with care (``nanmean`` would silently drop such runs).
    """
    threshold = check_positive("threshold", threshold)
    centres, _, weights = _mode_structure(target)
    idx, dist = nearest_mode(samples, target)
    hq = dist < threshold
    k = centres.shape[0]
    counts = torch.bincount(idx[hq], minlength=k).numpy().astype(np.int64)
    n = idx.shape[0]
    return ModeMetrics(
        modes_captured=int((counts > 0).sum()),
        n_modes=k,
        high_quality_fraction=float(counts.sum()) / n,
        reverse_kl=_reverse_kl(counts, weights.numpy()),
        mode_counts=tuple(int(c) for c in counts),
    )


# -- Wasserstein-1 ---------------------------------------------------------------------------
def w1_to_target(samples: Any, target: Any, *, n: int = 2500, seed: int = 0) -> float:
    """Exact W1 (Euclidean ground cost) between ``samples`` and n fresh target samples.

    W1(μ̂, ν̂) = min_{π ∈ Π(μ̂, ν̂)} Σ_{ij} π_ij ‖x_i − y_j‖₂, uniform weights on both clouds, solved
    exactly by ``ganlab.theory.wasserstein.w1`` (POT ``ot.emd2``, imported lazily). The target cloud is
    ``target.sample(n, seed)`` in float64, so the same seed gives the same value. Works for
    sample-only targets too (the swiss roll). Even for samples drawn from the target itself the
    value is > 0: the empirical W1 between two independent n-point clouds in 2-D shrinks only like
    n^(−1/2) (up to log factors). Cost and memory grow as len(samples) × n (dense cost matrix and
    plan); more than ``wasserstein.MAX_EMD_POINTS``² pairs (5k × 5k) is refused: subsample first.
    """
    from ..theory.wasserstein import MAX_EMD_POINTS, w1

    n = check_int("n", n)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    x = check_cloud("samples", samples, dim=getattr(target, "dim", None)).to(torch.float64)
    if x.shape[0] * n > MAX_EMD_POINTS**2:
        raise ValueError(
            f"w1_to_target: {x.shape[0]} samples x n={n} target samples = {x.shape[0] * n} pairs "
            f"exceeds {MAX_EMD_POINTS}**2 (exact OT needs a dense cost matrix and plan); "
            "subsample the samples or lower n"
        )
    y = target.sample(n, int(seed), dtype=torch.float64)
    return float(w1(x, y))


# -- k-NN precision / recall / density / coverage --------------------------------------------
class PrecisionRecall(NamedTuple):
    precision: float
    recall: float


class DensityCoverage(NamedTuple):
    density: float
    coverage: float


def _two_clouds(real: Any, fake: Any, k: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Validated float64 clouds, both shifted by the real mean (distances are translation invariant;
    centring limits the cancellation of cdist's ‖a‖² + ‖b‖² − 2a·b form)."""
    r = check_cloud("real", real).to(torch.float64)
    f = check_cloud("fake", fake).to(torch.float64)
    check_same_dim("real", r, "fake", f)
    k = check_int("k", k)
    centre = r.mean(dim=0, keepdim=True)
    return r - centre, f - centre, k


def _knn_radii(x: torch.Tensor, k: int, name: str) -> torch.Tensor:
    """Distance from each point to its k-th nearest *other* point of the same cloud [n].

    The (k+1)-th smallest entry of its distance row, the first being itself (distance 0), as in both
    reference codes (``np.partition(..., k)`` and ``get_kth_value(k=k+1)``).
    """
    if x.shape[0] <= k:
        raise ValueError(f"k={k} needs at least k+1={k + 1} points in {name}, got {x.shape[0]}")
    rows = _chunk_rows(x.shape[0])
    out = torch.empty(x.shape[0], dtype=torch.float64)
    for s in range(0, x.shape[0], rows):
        d = torch.cdist(x[s : s + rows], x)
        out[s : s + rows] = torch.topk(d, k + 1, dim=1, largest=False, sorted=True).values[:, k]
    return out


def _in_balls(centres: torch.Tensor, radii: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bool [len(points)]: point within at least one closed ball ‖p − centres[i]‖ <= radii[i]."""
    out = torch.zeros(points.shape[0], dtype=torch.bool)
    rows = _chunk_rows(points.shape[0])
    for s in range(0, centres.shape[0], rows):
        d = torch.cdist(centres[s : s + rows], points)  # [c, len(points)]
        out |= (d <= radii[s : s + rows, None]).any(dim=0)
    return out


def precision_recall(real: Any, fake: Any, k: int = 5) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019, NeurIPS).

    With R_k(r_i) the distance from r_i to its k-th nearest neighbour among the other real points
    (likewise R_k(f_j) within fake), and N real, M fake points:

        precision = (1/M) Σ_j 1[∃ i: ‖f_j − r_i‖ ≤ R_k(r_i)]   (fake inside the real manifold)
        recall    = (1/N) Σ_i 1[∃ j: ‖r_i − f_j‖ ≤ R_k(f_j)]   (real inside the fake manifold)

    ``<=`` as in ``kynkaat/improved-precision-and-recall-metric/precision_recall.py``
    (``ManifoldEstimator.evaluate``; that code's default is k = 3, and it compares squared distances,
    which is the same test). Euclidean distances from ``torch.cdist`` in float64, in row chunks of
    about 4 M distances. Needs N, M ≥ k + 1.
    """
    r, f, k = _two_clouds(real, fake, k)
    rr = _knn_radii(r, k, "real")
    rf = _knn_radii(f, k, "fake")
    # Rows are chunks of the cloud that owns the balls, so each distance is computed exactly as in
    # _knn_radii (same cdist orientation): precision_recall(x, x) is exactly (1, 1).
    fake_in_real = _in_balls(r, rr, f)
    real_in_fake = _in_balls(f, rf, r)
    precision = float(fake_in_real.double().mean())
    recall = float(real_in_fake.double().mean())
    return PrecisionRecall(precision, recall)


def density_coverage(real: Any, fake: Any, k: int = 5) -> DensityCoverage:
    """Density and coverage (Naeem et al. 2020, ICML).

    With R_k(r_i) the distance from r_i to its k-th nearest other real point, N real, M fake points:

        density  = 1/(k M) Σ_j Σ_i 1[‖f_j − r_i‖ < R_k(r_i)]    (can exceed 1)
        coverage = (1/N) Σ_i 1[min_j ‖r_i − f_j‖ < R_k(r_i)]

    Strict ``<`` as in ``clovaai/generative-evaluation-prdc``, ``prdc/prdc.py`` (``compute_prdc``;
    its radii are ``get_kth_value(k + 1)`` of the real-real distance rows, i.e. self excluded).
    Float64 ``torch.cdist``, row chunks of about 4 M distances. Needs N ≥ k + 1, M ≥ 1.
    """
    r, f, k = _two_clouds(real, fake, k)
    rr = _knn_radii(r, k, "real")
    rows = _chunk_rows(f.shape[0])
    hits = 0
    covered = 0
    for s in range(0, r.shape[0], rows):
        d = torch.cdist(r[s : s + rows], f)  # [c, M], rows = balls around real points
        inside = d < rr[s : s + rows, None]
        hits += int(inside.sum())
        covered += int(inside.any(dim=1).sum())  # min_j d < R  <=>  any_j d < R
    density = hits / (k * f.shape[0])
    coverage = covered / r.shape[0]
    return DensityCoverage(density, coverage)
