"""Parzen-window log-likelihood: hand values, a brute-force reference, and Gaussian data.

Independent references:
* scipy.stats densities for one or two kernels;
* a brute-force numpy loop: explicit differences x − μ_i, ``scipy.special.logsumexp``, a Python
  loop over σ with ``numpy.argmax`` (first maximum), numpy's ``std`` (ddof 0);
* Gaussian data, centres μ_i ~ N(0, I_d): the Parzen window's mean E_μ[K_σ(x − μ)] is exactly
  p̄(x) = N(x; 0, (1 + σ²) I), and the true density is N(x; 0, I) with mean log-density
  −(d/2)(log 2π + 1). With n centres the estimate p̂ = p̄·(1 + ε(x)), E ε = 0,
  Var ε(x) = (r(x) − 1)/n with r(x) = E[K²]/p̄² = (4πσ²)^{−d/2} N(x; 0, (1 + σ²/2) I) / p̄(x)²
  (closed form). So log p̂ − log p̄ has mean ≈ −(r − 1)/(2n) (second order), and over the
  centres its mean over fixed test points fluctuates like (1/n) Σ_i h(μ_i) − 1 with
  h(μ) = mean_x K_σ(x − μ)/p̄(x), sd = std(h)/√n, estimated from the centres; test points drawn
  from N(0, I) add their own sampling error (the reported stderr). Tolerances are 5 of these
  combined sds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from ganlab.metrics.parzen import (
    GOODFELLOW_SIGMAS,
    mean_and_stderr,
    parzen_log_density,
    parzen_log_likelihood,
    parzen_protocol,
    select_sigma,
    to_unit_interval,
)

N_SD = 5.0


def brute_log_density(x: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    d = x.shape[1]
    sq = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2)
    return (scipy.special.logsumexp(-sq / (2 * sigma**2), axis=1) - math.log(len(mu))
            - 0.5 * d * math.log(2 * math.pi * sigma**2))


def gaussian_log_pdf(x: np.ndarray, var: float) -> np.ndarray:
    d = x.shape[1]
    return -0.5 * (x**2).sum(axis=1) / var - 0.5 * d * math.log(2 * math.pi * var)


# -- hand values ----------------------------------------------------------------------------------
def test_one_kernel_is_a_normal_density():
    got = parzen_log_density(torch.tensor([[0.3], [-2.0]], dtype=torch.float64), torch.tensor([[1.0]]), 0.5)
    assert got.dtype == torch.float64
    assert got.tolist() == pytest.approx(scipy.stats.norm.logpdf([0.3, -2.0], 1.0, 0.5), rel=1e-13)


def test_two_kernels_hand_value_and_scipy():
    # x = 0, centres 0 and 2, σ = 1, d = 1: log(½ φ(0) + ½ φ(2)) = log((1 + e^{−2}) / (2√(2π)))
    got = parzen_log_density(torch.tensor([[0.0]]), torch.tensor([[0.0], [2.0]]), 1.0)
    assert float(got[0]) == pytest.approx(math.log((1 + math.exp(-2)) / (2 * math.sqrt(2 * math.pi))), rel=1e-14)
    mu = np.array([[0.0, 1.0], [2.0, -1.0]])
    x = np.array([[0.5, 0.5], [3.0, 0.0]])
    ref = np.log(0.5 * scipy.stats.multivariate_normal(mu[0], 0.7**2).pdf(x)
                 + 0.5 * scipy.stats.multivariate_normal(mu[1], 0.7**2).pdf(x))
    assert parzen_log_density(x, mu, 0.7).tolist() == pytest.approx(ref.tolist(), rel=1e-12)


@pytest.mark.parametrize("x_chunk, centre_chunk", [(1, 1), (7, 11), (256, 2048)])
def test_chunks_match_brute_force(x_chunk, centre_chunk):
    rng = np.random.default_rng(0)
    x, mu = rng.normal(size=(37, 5)), rng.normal(size=(53, 5)) * 1.5
    sig = [0.2, 0.9, 3.0]
    got = parzen_log_density(x, mu, sig, x_chunk=x_chunk, centre_chunk=centre_chunk)
    assert got.shape == (3, 37)
    for k, s in enumerate(sig):
        np.testing.assert_allclose(got[k].numpy(), brute_log_density(x, mu, s), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("offset, scale, d, sigmas", [
    (1e5, 1.0, 3, [0.3, 1.0]),  # ~10⁵: ‖x‖² + ‖μ‖² − 2x·μ unshifted is off by 2e-5 in ‖x − μ‖² here
    (-3e5, 0.05, 2, [0.02, 0.1]),
    (0.0, 1.0, 784, [0.2, 0.5]),  # pixels in [0, 1], d = 784
])
def test_accurate_wherever_the_data_sits(offset, scale, d, sigmas):
    """Against explicit differences in float64 (exact here: x and μ are within a factor of 2 of
    each other, so x − μ has no rounding), at coordinates far from the origin and at pixel scale."""
    rng = np.random.default_rng(3)
    if d == 784:
        mu, x = rng.uniform(0, 1, size=(60, d)), rng.uniform(0, 1, size=(25, d))
        x[:5] = np.clip(mu[:5] + rng.normal(0, 0.05, size=(5, d)), 0, 1)  # some points near a centre
    else:
        mu = offset + scale * rng.normal(size=(200, d))
        x = offset + scale * rng.normal(size=(50, d))
    got = parzen_log_density(x, mu, sigmas, x_chunk=16, centre_chunk=64)
    for k, s in enumerate(sigmas):
        np.testing.assert_allclose(got[k].numpy(), brute_log_density(x, mu, s), rtol=1e-12, atol=1e-9)


def test_far_points_do_not_underflow():
    # ‖x − μ‖²/(2σ²) = 5,000: exp underflows in float64, logsumexp must not
    got = parzen_log_density(torch.tensor([[10.0]]), torch.tensor([[0.0]]), 0.1)
    assert float(got[0]) == pytest.approx(scipy.stats.norm.logpdf(10.0, 0.0, 0.1), rel=1e-13)


def test_image_scale_changes_log_density_by_d_log_2():
    # y = 2x − 1 maps [0, 1] to [−1, 1]; kernels of width 2σ there: log p̂ falls by d·log 2
    rng = np.random.default_rng(1)
    imgs = torch.from_numpy(rng.uniform(-1, 1, size=(30, 1, 28, 28)))
    cents = torch.from_numpy(rng.uniform(-1, 1, size=(40, 1, 28, 28)))
    unit = parzen_log_density(to_unit_interval(imgs), to_unit_interval(cents), 0.3)
    signed = parzen_log_density(imgs, cents, 0.6)
    torch.testing.assert_close(signed, unit - 784 * math.log(2), rtol=0, atol=1e-8)
    assert to_unit_interval(torch.tensor([[[-1.0, 0.0, 1.0]]])).tolist() == [[0.0, 0.5, 1.0]]


# -- Gaussian data ----------------------------------------------------------------------------------
def smoothing_reference(x: np.ndarray, sigma: float, n: int) -> tuple[np.ndarray, float]:
    """(log p̄(x), expected bias of mean_x(log p̂ − log p̄) to second order: −mean_x Var ε / 2)."""
    d = x.shape[1]
    log_pbar = gaussian_log_pdf(x, 1 + sigma**2)
    log_ek2 = -0.5 * d * math.log(4 * math.pi * sigma**2) + gaussian_log_pdf(x, 1 + sigma**2 / 2)
    rel_var = (np.exp(log_ek2 - 2 * log_pbar) - 1) / n  # Var ε(x)
    assert rel_var.max() < 0.05  # the second-order expansion of log(1 + ε) is accurate
    return log_pbar, -0.5 * rel_var.mean()


def centre_noise_sd(x: np.ndarray, mu: np.ndarray, sigma: float, n: int) -> float:
    """sd over centre draws of mean_x ε(x) = (1/n) Σ_i h(μ_i) − 1, h(μ) = mean_x K_σ(x − μ)/p̄(x):
    std(h)/√n, with std(h) estimated on the given centres (a subsample suffices)."""
    d = x.shape[1]
    log_k = (-((x[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2) / (2 * sigma**2)
             - 0.5 * d * math.log(2 * math.pi * sigma**2))
    h = np.exp(log_k - gaussian_log_pdf(x, 1 + sigma**2)[:, None]).mean(axis=0)
    return float(h.std(ddof=1) / math.sqrt(n))


def test_gaussian_data_matches_the_smoothed_density():
    # at fixed test points the target mean_x log p̄(x) is exact: only the centres are random.
    # Points in the bulk (N(0, 0.7² I)), where Var ε(x) is small for every point.
    rng = np.random.default_rng(2)
    d, n, m, sigma = 2, 20_000, 2_000, 0.3
    mu, x = rng.normal(size=(n, d)), 0.7 * rng.normal(size=(m, d))
    log_pbar, bias = smoothing_reference(x, sigma, n)
    diff = parzen_log_density(x, mu, sigma).numpy() - log_pbar
    sd = centre_noise_sd(x, mu[:2000], sigma, n)  # ≈ 0.0045 nat
    assert abs(diff.mean() - bias) < N_SD * sd
    # resolution ≈ 0.02 nat; the slips it targets (a missing log n, d for d/2, σ for σ²) move the
    # mean by ≥ 0.5 nat
    assert N_SD * sd < 0.03


def test_gaussian_data_approaches_the_true_mean_log_density():
    # d = 1 and n = 50,000, so that Var ε(x) stays below 0.05 even at the most extreme of the
    # 2,000 test points N(0, 1) (in d = 2 a handful of tail points break the expansion)
    rng = np.random.default_rng(3)
    d, n, m, sigma = 1, 50_000, 2_000, 0.2
    mu, x = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    r = parzen_log_likelihood(mu, x, sigma)
    true_mean = -0.5 * d * (math.log(2 * math.pi) + 1)  # E log N(x; 0, I)
    # smoothing moves the target by −(d/2)(log(1 + σ²) + 1/(1 + σ²) − 1) = −3.8e-4 here, the
    # Jensen bias is as above; the test points' sampling error is the reported stderr
    _, bias = smoothing_reference(x, sigma, n)
    smooth = -0.5 * d * (math.log(1 + sigma**2) + 1 / (1 + sigma**2) - 1)
    sd = math.sqrt(r.stderr**2 + centre_noise_sd(x, mu[:2000], sigma, n) ** 2)
    assert abs(r.mean - (true_mean + smooth + bias)) < N_SD * sd
    assert N_SD * sd < 0.1
    assert r.stderr == pytest.approx(math.sqrt(d / 2 / m), rel=0.1)  # sd of log N(x; 0, 1) is √(d/2)


# -- σ selection and the protocol --------------------------------------------------------------------------
def test_select_sigma_matches_brute_force_loop():
    rng = np.random.default_rng(4)
    samples, valid = rng.normal(size=(300, 5)), rng.normal(size=(120, 5))
    best, table = select_sigma(samples, valid, GOODFELLOW_SIGMAS, x_chunk=50, centre_chunk=64)
    lls = [brute_log_density(valid, samples, s).mean() for s in np.logspace(-1, 0, 10)]
    assert list(table) == pytest.approx(list(np.logspace(-1, 0, 10)), rel=1e-15)
    assert list(table.values()) == pytest.approx(lls, rel=1e-11)
    assert best == np.logspace(-1, 0, 10)[int(np.argmax(lls))]
    assert 0 < int(np.argmax(lls)) < 9  # an interior optimum, so the choice is not trivial


def test_protocol_reports_mean_and_numpy_stderr():
    rng = np.random.default_rng(5)
    samples, valid, test = rng.normal(size=(400, 3)), rng.normal(size=(100, 3)), rng.normal(size=(250, 3))
    r = parzen_protocol(samples, valid, test)
    best, _ = select_sigma(samples, valid)
    ll = brute_log_density(test, samples, best)
    assert r.sigma == best and r.n == 250 and set(r.validation) == set(GOODFELLOW_SIGMAS)
    assert r.mean == pytest.approx(ll.mean(), rel=1e-12)
    assert r.stderr == pytest.approx(ll.std() / math.sqrt(250), rel=1e-10)  # numpy std: ddof 0
    assert mean_and_stderr(torch.tensor([1.0, 3.0])) == (2.0, pytest.approx(1 / math.sqrt(2)))


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.0, -0.5, float("nan"), float("inf"), True, "wide"])
def test_bad_sigma_is_refused(sigma):
    with pytest.raises(ValueError, match="sigma must be a positive"):
        parzen_log_density(torch.zeros(2, 3), torch.zeros(4, 3), sigma)


def test_bad_sigma_grid_is_refused():
    with pytest.raises(ValueError, match="sigmas must not be empty"):
        select_sigma(torch.zeros(4, 3), torch.zeros(2, 3), [])
    with pytest.raises(ValueError, match=r"positive finite number, got -0.1"):
        select_sigma(torch.zeros(4, 3), torch.zeros(2, 3), [0.5, -0.1])


@pytest.mark.parametrize("x, centres, msg", [
    (torch.zeros(2, 3), torch.zeros(4, 5), "dimension mismatch: x has dimension 3, centres 5"),
    (torch.zeros(0, 3), torch.zeros(4, 3), r"x is empty"),
    (torch.zeros(2, 3), torch.zeros(0, 3), r"centres is empty"),
    (torch.zeros(3), torch.zeros(4, 3), r"x must have shape \[n, d\]"),
    (torch.zeros(2, 3), torch.tensor([[0.0, float("nan"), 0.0]]), "centres holds 1 non-finite"),
])
def test_bad_points_are_refused(x, centres, msg):
    with pytest.raises(ValueError, match=msg):
        parzen_log_density(x, centres, 0.5)


def test_chunk_sizes_are_checked():
    with pytest.raises(ValueError, match="x_chunk must be an integer >= 1"):
        parzen_log_density(torch.zeros(2, 3), torch.zeros(4, 3), 0.5, x_chunk=0)
