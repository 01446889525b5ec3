"""k-NN sample-quality metrics between a real and a fake cloud, in any dimension.

``precision_recall`` follows Kynkäänniemi et al. 2019 (``kynkaat/improved-precision-and-recall-metric``,
``precision_recall.py``: inside a ball when distance ``<=`` radius) and ``density_coverage``
follows Naeem et al. 2020 (``clovaai/generative-evaluation-prdc``, ``prdc/prdc.py``: strict ``<``).
Both radii are the distance to the k-th nearest *other* point of the same cloud. Distances are
float64 ``torch.cdist`` in row chunks of about ``_chunks.CHUNK_ELEMENTS`` (4 M) distances.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from ..validation import check_cloud, check_int, check_same_dim
from . import _chunks

__all__ = ["PrecisionRecall", "DensityCoverage", "precision_recall", "density_coverage"]


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
    rows = _chunks.chunk_rows(x.shape[0])
    out = torch.empty(x.shape[0], dtype=torch.float64)
    for s in range(0, x.shape[0], rows):
        d = torch.cdist(x[s : s + rows], x)
        out[s : s + rows] = torch.topk(d, k + 1, dim=1, largest=False, sorted=True).values[:, k]
    return out


def _in_balls(centres: torch.Tensor, radii: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bool [len(points)]: point within at least one closed ball ‖p − centres[i]‖ <= radii[i]."""
    out = torch.zeros(points.shape[0], dtype=torch.bool)
    rows = _chunks.chunk_rows(points.shape[0])
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
    rows = _chunks.chunk_rows(f.shape[0])
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
