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

The k-NN metrics (precision/recall, density/coverage) live in ``ganlab.metrics.knn`` and the
W1 to a target in ``ganlab.metrics.wasserstein``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..theory.targets import NoDensityError
from ..validation import check_cloud, check_positive
from . import _chunks

__all__ = [
    "ModeMetrics",
    "nearest_mode",
    "mode_metrics",
    "mode_metrics_batched",
]


#: Up to this many dimensions ``_nearest_chunk`` loops over them (see there).
_LOOP_DIMS = 8


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



def _nearest_chunk(x: torch.Tensor, centres: torch.Tensor, inv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest mode of every row of x [..., c, d] (float64): (index [..., c], distance [..., c]).

    dist_k(x) = sqrt(Σ_i ((x_i − c_{k,i}) / σ_{k,i})²) computed directly (no ‖x‖² − 2x·c + ‖c‖²
    expansion, so no cancellation); argmin over k, ties to the lowest index. The one place where
    the distance is computed: ``nearest_mode`` and ``mode_metrics_batched`` both call it, and every
    row's result depends on that row alone (so chunking and batching change nothing).

    Up to ``_LOOP_DIMS`` dimensions the sum over i is accumulated in order, one dimension at a time
    on [..., c, K] tensors: in 2-D about 5x faster on this project's CPUs than reducing a
    [..., c, K, d] temporary over its last axis of 2 (which gives the same bits up to d = 4; above,
    the two orders of summation differ by rounding only).
    """
    d = x.shape[-1]
    if d <= _LOOP_DIMS:
        sq = None
        for i in range(d):
            z = (x[..., i, None] - centres[:, i]).mul_(inv[:, i]).square_()  # [..., c, K]
            sq = z if sq is None else sq.add_(z)
    else:
        sq = ((x[..., :, None, :] - centres) * inv).square_().sum(dim=-1)
    m, j = sq.min(dim=-1)
    return j, m.sqrt_()


def _as_batch(name: str, x: Any, dim: int) -> torch.Tensor:
    """Samples [N, n, d] with N, n >= 1 and d = ``dim``, as a tensor on its own device, detached
    (a metric needs no autograd graph). Checks metadata only (shape, dtype): looking at the values
    would synchronise with the device."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 3:
        raise ValueError(f"{name} must have shape [N, n, d] (members, samples, dimension), got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if t.shape[2] != dim:
        raise ValueError(f"{name} has dimension {t.shape[2]}, expected {dim}")
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{name} must hold real numbers, got dtype {t.dtype}")
    return t.detach()


# -- nearest mode ----------------------------------------------------------------------------
def nearest_mode(
    samples: Any, target: Any, *, chunk_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Index [n] (int64) of each sample's nearest mode and its distance [n] (float64) in std units,
    on the samples' device.

    dist_k(x) = ‖(x − c_k) / σ_k‖₂ = sqrt(Σ_i (x_i − c_{k,i})² / σ_{k,i}²), with σ_k = the per-dimension
    std of mode k (``target.mode_stds``), i.e. the Mahalanobis distance of the diagonal of Σ_k; this is
    PacGAN's ``MetricLogger`` distance (``synthetic_data_experiments/PacGAN/pacgan/extensions.py``).
    The nearest mode is argmin_k dist_k (ties: lowest index, as PacGAN's strict ``<`` loop).

    Computed directly (no ‖x‖² − 2x·c + ‖c‖² expansion, so no cancellation) in float64, in chunks of
    ``chunk_size`` rows (default: about 4 M elements per temporary, 32 MiB): 100k samples × 25 modes
    in 2-D take about 0.1 s on this project's 2-core machines.
    """
    centres, stds, _ = _mode_structure(target)
    x = check_cloud("samples", samples, dim=centres.shape[1])
    k, d = centres.shape
    rows = _chunks.check_chunk_size(chunk_size, k * d)
    centres, inv = centres.to(x.device), (1.0 / stds).to(x.device)
    idx = torch.empty(x.shape[0], dtype=torch.int64, device=x.device)
    dist = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], rows):
        j, m = _nearest_chunk(x[start : start + rows].to(torch.float64), centres, inv)
        idx[start : start + rows] = j
        dist[start : start + rows] = m
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


def _reverse_kl(counts: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """KL(p_hat ‖ w) per row of counts [N, K] (int64), p_hat = counts / Σ counts, on the device.

    The definition of ``ganlab.theory.divergences.kl_discrete``, row-wise and without leaving the
    device: Σ_{k: p_k > 0} p_k log1p((p_k − w_k) / w_k) (the log1p form keeps full relative
    precision when p ≈ w), empty bins contribute 0 (0 log 0 = 0, as ``scipy.stats.entropy`` and
    PacGAN's ``KLD``), mass on a mode of weight 0 gives +inf, negative rounding is clamped to 0
    (Gibbs: KL ≥ 0). A row without counts (p_hat = 0/0) gives NaN. ``tests/metrics`` checks it
    against ``kl_discrete``.
    """
    c = counts.to(torch.float64)
    total = c.sum(dim=1, keepdim=True)
    p = c / total  # NaN rows where total == 0
    terms = torch.where(counts > 0, p * torch.log1p((p - weights) / weights), 0.0)
    kl = terms.sum(dim=1).clamp_min_(0.0)
    return torch.where(total[:, 0] > 0, kl, math.nan)


def mode_metrics_batched(
    samples: Any, target: Any, threshold: float = 3.0, *, chunk_size: int | None = None
) -> dict[str, torch.Tensor]:
    """``mode_metrics`` of every member of a batch at once, on the samples' device.

    ``samples`` [N, n, d] (N members, n samples each; any floating dtype, any device; computed in
    float64). Returns a dict of tensors on that device:

    * ``modes_captured`` [N] int64, ``high_quality_fraction`` [N] float64, ``reverse_kl`` [N]
      float64 (NaN where a member has no high-quality sample, +inf where one has mass on a mode of
      weight 0), ``mode_counts`` [N, K] int64;

    with exactly the definitions of ``mode_metrics`` (nearest mode in per-dimension std units,
    strict ``< threshold``, histogram over the high-quality samples, KL(p_hat ‖ w)). One computation
    for all members, chunked over the samples (about ``_chunks.CHUNK_ELEMENTS`` = 4 M elements per
    temporary, or ``chunk_size`` samples per member per chunk): no Python loop over members and no
    host synchronisation, so it can run inside a training step on a GPU.

    Validation looks at shapes and dtypes only (ValueError before any work): the values are not
    inspected, because that would synchronise with the device. A non-finite sample (NaN, ±inf) is
    simply never high quality (its distance is NaN or inf, and NaN < t is false), so a member whose
    samples diverged gets 0 modes, fraction 0 and reverse KL NaN.
    """
    threshold = check_positive("threshold", threshold)
    centres, stds, weights = _mode_structure(target)
    k, d = centres.shape
    x = _as_batch("samples", samples, d)
    n_members, n = x.shape[0], x.shape[1]
    rows = _chunks.check_chunk_size(chunk_size, n_members * k * d)
    dev = x.device
    centres, inv, weights = centres.to(dev), (1.0 / stds).to(dev), weights.to(dev)
    counts = torch.zeros(n_members, k, dtype=torch.int64, device=dev)
    for start in range(0, n, rows):
        j, dist = _nearest_chunk(x[:, start : start + rows].to(torch.float64), centres, inv)
        counts.scatter_add_(1, j, (dist < threshold).to(torch.int64))
    return {
        "modes_captured": (counts > 0).sum(dim=1),
        "high_quality_fraction": counts.sum(dim=1).to(torch.float64) / n,
        "reverse_kl": _reverse_kl(counts, weights),
        "mode_counts": counts,
    }


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
      Σ mode_counts (normalised over the high-quality samples only), w = ``target.weights``
      (``kl_discrete``'s definition). With uniform weights this is log K − H(p_hat), H = PacGAN's
      logged "entropy of coverage". Empty bins contribute 0; mass on a zero-weight mode gives
      +inf. Its plug-in bias for a sampler equal to the target is about (K − 1) / (2 n_hq)
      (2 n_hq KL → χ²_{K−1}).

    Zero high-quality samples: p_hat is 0/0, undefined. PacGAN's logger then writes NaN (after a
    numpy division warning); we return ``reverse_kl = nan`` explicitly, with no warning, alongside
    ``modes_captured = 0`` and ``high_quality_fraction = 0.0``. Test for the case with
    ``modes_captured == 0``; aggregate with care (``nanmean`` would silently drop such runs).

    The single-cloud form of ``mode_metrics_batched`` (one member; the same computation), with the
    samples validated first ([n, d], finite: a ValueError names a bad value).
    """
    threshold = check_positive("threshold", threshold)
    centres, _, _ = _mode_structure(target)
    x = check_cloud("samples", samples, dim=centres.shape[1])
    r = mode_metrics_batched(x[None], target, threshold)
    counts = tuple(int(c) for c in r["mode_counts"][0].tolist())
    kl = float(r["reverse_kl"][0])
    return ModeMetrics(
        modes_captured=int(r["modes_captured"][0]),
        n_modes=len(counts),
        high_quality_fraction=float(r["high_quality_fraction"][0]),
        # math.nan itself (not a fresh NaN float), so equal results compare equal (x is y or x == y)
        reverse_kl=math.nan if math.isnan(kl) else kl,
        mode_counts=counts,
    )
