"""Parzen-window log-likelihood of test data under generated samples (Goodfellow et al. 2014).

An isotropic Gaussian kernel of width σ on each of n generated samples μ_i ∈ R^d gives

    log p̂(x) = logsumexp_i(−‖x − μ_i‖² / (2σ²)) − log n − (d/2) log(2πσ²).

The published protocol (Goodfellow et al. 2014, Table 1: MNIST "adversarial nets 225 ± 2"), as in
its script ``parzen_ll.py`` (``goodfeli/adversarial``; kernel code credited to Yann Dauphin):

* 10,000 generated samples (``--num_samples``) are the centres;
* σ is chosen from ``numpy.logspace(-1, 0, 10)`` (``--sigma_start -1 --sigma_end 0
  --cross_val 10``) by the largest mean log p̂ over validation data: MNIST training images
  50,000–59,999 (the GAN trained on 0–49,999, ``mnist.yaml``), of which only the first 1,000 are
  used (``--limit_size 1000``); ``numpy.argmax`` takes the first σ on a tie;
* the reported number is the mean of log p̂ over the 10,000 test images ± ``std / sqrt(n)``
  (numpy's ``std``, ddof = 0);
* pixels are pylearn2's MNIST, grey / 255 ∈ [0, 1], flattened (d = 784); the kernel was
  evaluated in Theano, in float32 unless configured otherwise, as log-mean-exp in batches of 100.

``parzen_protocol`` follows this. ganlab images live in [−1, 1]; map them with
``to_unit_interval`` first to compare with the published numbers. The density of the same digits
in [−1, 1] coordinates is lower by d·log 2 ≈ 543.4 nats for d = 784, and the σ grid is meant for
the [0, 1] scale.

Known weaknesses (Theis, van den Oord & Bethge 2016, "A note on the evaluation of generative
models"): in high dimension the estimate is far from the model's true log-likelihood even with
millions of samples (it is biased low, and the bias shrinks very slowly with n); it rewards
sample sets that tile the test data rather than models of the data — k-means centroids of the
training set score higher than real samples of the data distribution, and a model that
memorises training images scores well; and it is dominated by σ, i.e. by the nearest
centre's distance, not by sample quality. Treat the number as a historical point of comparison,
not as a likelihood.

Implementation: squared distances ‖x‖² + ‖μ‖² − 2 x·μ in float64 (clamped at 0), after moving
the origin to the mean c of the centres (distances do not change, and the expansion's rounding
error, a few ulps of ‖x − c‖² + ‖μ − c‖², is then set by the data's spread rather than by where
it sits; unshifted it grows with ‖x‖²: up to 1e-2 in ‖x − μ‖² for 784 coordinates of 10⁵),
computed for blocks of test points × centres so that memory stays at one block; each block's
logsumexp over its centres is kept and the blocks are combined with one more logsumexp. The
distances do not depend on σ, so all σ of a grid are evaluated from the same block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..validation import check_int, check_positive

GOODFELLOW_SIGMAS = tuple(float(s) for s in np.logspace(-1, 0, 10))
GOODFELLOW_N_SAMPLES = 10_000
GOODFELLOW_N_VALIDATION = 1_000
PUBLISHED_MNIST_GAN = (225.0, 2.0)  # Goodfellow et al. 2014, Table 1 (nats, mean ± s.e.)


@dataclass(frozen=True)
class ParzenResult:
    """mean ± stderr of log p̂ over n test points at width sigma; ``validation`` maps each σ of the
    grid to its mean validation log p̂ when σ was selected."""

    mean: float
    stderr: float
    sigma: float
    n: int
    validation: dict[float, float] | None = None


def to_unit_interval(images: torch.Tensor) -> torch.Tensor:
    """[−1, 1] pixels → [0, 1] (x + 1) / 2, flattened to [n, d]: the published protocol's scale."""
    return ((_flat("images", images).to(torch.float64) + 1.0) / 2.0)


def _flat(name: str, x) -> torch.Tensor:
    """[n, d], or [n, ...] flattened, floating point and finite."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim == 1:
        raise ValueError(f"{name} must have shape [n, d] or [n, ...], got shape {tuple(t.shape)}")
    t = t.reshape(t.shape[0], -1) if t.ndim > 2 else t
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    bad = int((~torch.isfinite(t)).sum())
    if bad:
        raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or inf)")
    return t


def _sigmas(sigmas: float | Sequence[float]) -> list[float]:
    seq = [sigmas] if isinstance(sigmas, (int, float)) else list(sigmas)
    if any(isinstance(v, bool) for v in seq):
        raise ValueError(f"sigma must be a positive number, got {sigmas!r}")
    if not seq:
        raise ValueError("sigmas must not be empty")
    return [check_positive("sigma", s) for s in seq]


def parzen_log_density(x, centres, sigmas: float | Sequence[float], *, x_chunk: int = 256,
                       centre_chunk: int = 2048) -> torch.Tensor:
    """log p̂_σ(x) float64 [len(sigmas), n_x] (or [n_x] for one σ) of the Parzen window with
    Gaussian kernels of width σ on ``centres`` [n, d], at points ``x`` [n_x, d] (image tensors are
    flattened): logsumexp_i(−‖x − μ_i‖²/(2σ²)) − log n − (d/2) log(2πσ²).

    Works on the device of ``centres``; the working memory is about
    8·x_chunk·centre_chunk·(2 + len(sigmas)) bytes (42 MB at the defaults and 10 σ)."""
    scalar = isinstance(sigmas, (int, float))
    sig = _sigmas(sigmas)
    x_chunk, centre_chunk = check_int("x_chunk", x_chunk), check_int("centre_chunk", centre_chunk)
    mu = _flat("centres", centres).to(torch.float64)
    x = _flat("x", x).to(mu.device, torch.float64)
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"dimension mismatch: x has dimension {x.shape[1]}, centres {mu.shape[1]}")
    n, d = mu.shape
    c = mu.mean(dim=0)  # the origin at the centres' mean (see the module docstring)
    mu, x = mu - c, x - c
    s = torch.tensor(sig, dtype=torch.float64, device=mu.device)
    inv2s2 = (0.5 / s**2)[:, None, None]  # [S, 1, 1]
    mu_sq = (mu * mu).sum(dim=1)
    out = []
    for i in range(0, x.shape[0], x_chunk):
        xb = x[i:i + x_chunk]
        xb_sq = (xb * xb).sum(dim=1)[:, None]
        parts = []
        for j in range(0, n, centre_chunk):
            mb = mu[j:j + centre_chunk]
            d2 = (xb_sq + mu_sq[j:j + centre_chunk][None, :] - 2.0 * (xb @ mb.T)).clamp_(min=0.0)
            parts.append(torch.logsumexp(-inv2s2 * d2, dim=2))  # [S, b]
        out.append(torch.logsumexp(torch.stack(parts, dim=2), dim=2))
    lse = torch.cat(out, dim=1)
    logp = lse - math.log(n) - 0.5 * d * torch.log(2.0 * math.pi * s**2)[:, None]
    return logp[0] if scalar else logp


def mean_and_stderr(values: torch.Tensor) -> tuple[float, float]:
    """(mean, std / √n) with numpy's default ddof = 0, as ``parzen_ll.py`` reports."""
    v = values.to(torch.float64)
    return float(v.mean()), float(v.std(correction=0) / math.sqrt(v.numel()))


def select_sigma(samples, validation, sigmas: Sequence[float] = GOODFELLOW_SIGMAS,
                 **chunks) -> tuple[float, dict[float, float]]:
    """(σ maximising the mean validation log p̂, {σ: mean validation log p̂}); the first σ of the
    grid wins a tie, as ``numpy.argmax`` does in ``parzen_ll.py``."""
    sig = _sigmas(sigmas)
    means = parzen_log_density(validation, samples, sig, **chunks).mean(dim=1).tolist()
    best = max(range(len(sig)), key=lambda k: (means[k], -k))
    return sig[best], dict(zip(sig, means, strict=True))


def parzen_log_likelihood(samples, test, sigma: float, **chunks) -> ParzenResult:
    """Mean ± stderr over ``test`` of log p̂_σ under the Parzen window on ``samples``."""
    sigma = check_positive("sigma", sigma)
    mean, se = mean_and_stderr(parzen_log_density(test, samples, sigma, **chunks))
    return ParzenResult(mean, se, sigma, _flat("test", test).shape[0])


def parzen_protocol(samples, validation, test, sigmas: Sequence[float] = GOODFELLOW_SIGMAS,
                    **chunks) -> ParzenResult:
    """Goodfellow et al.'s protocol: σ from ``sigmas`` by mean validation log p̂, then
    mean ± stderr over ``test``. Pass 10,000 generated samples, 1,000 validation and the test
    images, all on the [0, 1] pixel scale (``to_unit_interval``) to compare with 225 ± 2."""
    sigma, val = select_sigma(samples, validation, sigmas, **chunks)
    r = parzen_log_likelihood(samples, test, sigma, **chunks)
    return ParzenResult(r.mean, r.stderr, sigma, r.n, val)
