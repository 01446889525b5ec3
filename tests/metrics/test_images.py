"""Stacked-MNIST mode metrics and the digit classifier.

References computed independently here:
* hand histograms: all samples in one mode → (1, log 1000); one sample per mode → (1000, 0);
  ids [0, 0, 1, 2] over K = 4 → p̂ = (½, ¼, ¼, 0), KL = ½ log 2;
* a line-by-line re-implementation of PacGAN's ``log_metrics`` / ``JSD().KLD``
  (``fjxmlzn/PacGAN``, ``stacked_MNIST_experiments/VEEGAN_experiment/model.py``);
* the KL of a multinomial histogram: 2n·KL(p̂ ‖ u) is the G-statistic, ≈ χ²_{K−1} for uniform
  p̂'s parent, so KL ≈ (K − 1)/(2n) ± √(2(K − 1))/(2n) (0.0192 ± 0.00086 at n = 26,000); for a
  non-uniform parent the mean and sd are simulated here with numpy (400 histograms), and a
  measured KL is accepted within 5 simulated sd (two-sided normal tail 6e-7);
* real Stacked MNIST classified by a trained classifier: given the pool, the predicted mode of a
  sample is (ĉ(i₁), ĉ(i₂), ĉ(i₃)) for independent uniform pool indices, so predicted modes are
  exactly Multinomial(n, q ⊗ q ⊗ q) with q the classifier's predicted-digit frequencies on the
  pool: the simulated reference is exact, not an approximation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from ganlab.data.mnist import load_mnist, split_mnist
from ganlab.data.stacked import mode_ids, stacked_mnist
from ganlab.metrics.images import (
    PACGAN_N_SAMPLES,
    DigitClassifier,
    ClassifierConfig,
    accuracy,
    classify_digits,
    data_checksum,
    load_classifier,
    mode_histogram_metrics,
    random_shift,
    save_classifier,
    stacked_mode_metrics,
    stacked_modes,
    train_digit_classifier,
    uniform_kl_moments,
)
from shared_data import not_found, shared_mnist_dir

SHARED = shared_mnist_dir()
needs_data = pytest.mark.skipif(SHARED is None, reason=not_found())
N_SD = 5.0  # acceptance band for simulated KL distributions, in sd


def pacgan_log_metrics(triples: list[tuple[int, int, int]]) -> tuple[int, float]:
    """PacGAN's mode coverage and KL, as its code computes them: dict of tuple counts, counts
    packed into the first slots of a 1,000 vector, normalised, KLD against 1/1000 skipping p = 0."""
    counts: dict = {}
    for t in triples:
        counts[t] = counts.get(t, 0) + 1
    num_mode = len(counts)
    p = np.zeros(1000)
    p[:num_mode] = list(counts.values())
    p = p / p.sum()
    q = [1.0 / 1000.0] * 1000
    return num_mode, sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True) if pi != 0)


def simulated_kl(p: np.ndarray, n: int, reps: int = 400, seed: int = 0) -> tuple[float, float]:
    """Mean and sd of KL(p̂ ‖ uniform) over ``reps`` multinomial(n, p) histograms."""
    rng = np.random.default_rng(seed)
    k = len(p)
    counts = rng.multinomial(n, p, size=reps) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(counts > 0, counts * np.log(counts * k), 0.0).sum(axis=1)
    return float(kl.mean()), float(kl.std(ddof=1))


# -- mode_histogram_metrics ------------------------------------------------------------------
def test_all_samples_in_one_mode():
    modes, kl = mode_histogram_metrics(torch.full((26_000,), 417))
    assert modes == 1 and kl == pytest.approx(math.log(1000), rel=1e-14)


def test_one_sample_per_mode_is_uniform():
    modes, kl = mode_histogram_metrics(torch.randperm(1000))
    assert modes == 1000 and kl == pytest.approx(0.0, abs=1e-15)


def test_hand_histogram():
    modes, kl = mode_histogram_metrics(torch.tensor([0, 0, 1, 2]), n_modes=4)
    assert modes == 3 and kl == pytest.approx(0.5 * math.log(2), rel=1e-14)
    # p̂ = (0.1, 0.2, 0.3, 0.4, 0) over K = 5: KL = Σ p log(5p)
    ids = torch.tensor([0] + [1] * 2 + [2] * 3 + [3] * 4)
    expected = sum(p * math.log(5 * p) for p in (0.1, 0.2, 0.3, 0.4))
    assert mode_histogram_metrics(ids, n_modes=5) == (4, pytest.approx(expected, rel=1e-13))


def test_matches_pacgan_code_and_scipy_on_random_histograms():
    rng = np.random.default_rng(7)
    for n in (50, 3000, 26_000):
        digits = rng.integers(0, 10, size=(n, 3)) * (rng.random((n, 3)) < 0.7)  # skewed to 0
        ids = mode_ids(torch.from_numpy(digits))
        modes, kl = mode_histogram_metrics(ids)
        ref_modes, ref_kl = pacgan_log_metrics([tuple(t) for t in digits.tolist()])
        assert modes == ref_modes and kl == pytest.approx(ref_kl, rel=1e-12, abs=1e-15)
        counts = np.bincount(ids.numpy(), minlength=1000)
        assert kl == pytest.approx(scipy.stats.entropy(counts, np.full(1000, 1e-3)), rel=1e-12)


def test_uniform_multinomial_kl_within_its_spread():
    mean, sd = uniform_kl_moments(PACGAN_N_SAMPLES)
    assert (mean, sd) == (pytest.approx(999 / 52_000), pytest.approx(math.sqrt(1998) / 52_000))
    sim_mean, sim_sd = simulated_kl(np.full(1000, 1e-3), PACGAN_N_SAMPLES)
    # the χ² approximation against simulation: 400 reps give the mean to sd/20 ≈ 4e-5
    assert abs(sim_mean - mean) < 0.05 * mean and abs(sim_sd - sd) < 0.15 * sd
    ids = torch.from_numpy(np.random.default_rng(1).integers(0, 1000, PACGAN_N_SAMPLES))
    modes, kl = mode_histogram_metrics(ids)
    assert modes == 1000  # P(a bin empty) ≤ 1000·(1 − 1/1000)^26000 ≈ 5e-9
    assert abs(kl - mean) < N_SD * sd


@pytest.mark.parametrize("ids, n_modes, msg", [
    (torch.tensor([0, 1000]), 1000, r"0..999, got range \[0, 1000\]"),
    (torch.tensor([-1, 3]), 1000, r"got range \[-1, 3\]"),
    (torch.tensor([0.0, 1.0]), 1000, "integer mode ids"),
    (torch.tensor([], dtype=torch.int64), 1000, "non-empty 1-D"),
    (torch.zeros(2, 3, dtype=torch.int64), 1000, "non-empty 1-D"),
    (torch.tensor([0]), 0, "n_modes must be an integer >= 1"),
])
def test_bad_mode_ids_are_refused(ids, n_modes, msg):
    with pytest.raises(ValueError, match=msg):
        mode_histogram_metrics(ids, n_modes)


# -- stacked_modes with a known classifier ------------------------------------------------------------
class MeanDecoder(nn.Module):
    """Reads digit k from an image whose pixels all equal −1 + 0.2k: logits −(mean − level_k)²."""

    def __init__(self):
        super().__init__()
        self.levels = nn.Parameter(-1.0 + 0.2 * torch.arange(10.0), requires_grad=False)

    def forward(self, x):
        return -(x.mean(dim=(1, 2, 3))[:, None] - self.levels) ** 2


def encode(digits: torch.Tensor) -> torch.Tensor:
    """[n, 3] digits → [n, 3, 28, 28] images, channel k constant at −1 + 0.2·digit."""
    return (-1.0 + 0.2 * digits.float())[:, :, None, None].expand(-1, -1, 28, 28).contiguous()


def test_stacked_modes_classifies_each_channel_in_order():
    digits = torch.from_numpy(np.random.default_rng(3).integers(0, 10, size=(777, 3)))
    images = encode(digits)
    got = stacked_modes(images, MeanDecoder(), batch_size=100)  # chunks straddle samples
    assert torch.equal(got, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])
    assert stacked_mode_metrics(images, MeanDecoder()) == mode_histogram_metrics(got)


def test_classify_digits_chunks_device_and_mode():
    model = DigitClassifier()
    model.train()
    x = torch.rand(300, 1, 28, 28) * 2 - 1
    a = classify_digits(x, model, batch_size=7)
    assert model.training  # restored
    assert torch.equal(a, classify_digits(x, model, batch_size=1000))
    assert a.dtype == torch.int64 and a.device == x.device
    with torch.no_grad():
        assert torch.equal(a, model.eval()(x).argmax(dim=1))  # eval mode: BN running stats, no dropout


@pytest.mark.parametrize("images, msg", [
    (torch.zeros(4, 28, 28), r"shape \[n, 1, 28, 28\]"),
    (torch.zeros(4, 3, 28, 28), r"shape \[n, 1, 28, 28\]"),
    (torch.zeros(0, 1, 28, 28), "empty"),
    (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), "floating point"),
    (torch.full((2, 1, 28, 28), float("nan")), "1568 non-finite"),
])
def test_classify_digits_refuses_bad_images(images, msg):
    with pytest.raises(ValueError, match=msg):
        classify_digits(images, DigitClassifier())


def test_stacked_modes_refuses_single_channel_images():
    with pytest.raises(ValueError, match=r"shape \[n, 3, 28, 28\]"):
        stacked_modes(torch.zeros(2, 1, 28, 28), MeanDecoder())


def test_random_shift_moves_pixels_and_fills_background():
    x = torch.full((2, 1, 28, 28), -1.0)
    x[:, 0, 10, 12] = 1.0
    out = random_shift(x, torch.tensor([0, 4]), torch.tensor([2, 1]), max_shift=2)
    # offset (dy, dx) ∈ {0..4}² shifts by (2 − dy, 2 − dx): (0, 2) → +2 rows; (4, 1) → −2 rows, +1 col
    assert out[0, 0, 12, 12] == 1.0 and out[1, 0, 8, 13] == 1.0
    assert int((out == 1.0).sum()) == 2 and int((out == -1.0).sum()) == 2 * 784 - 2


# -- training (shared data) ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    if SHARED is None:
        pytest.skip("MNIST test split not found")
    return split_mnist(load_mnist(SHARED, "test"), seed=0)


@pytest.fixture(scope="module")
def classifier(data):
    # 3 epochs instead of the default 8 to keep the suite fast; the benchmark trains the default
    return train_digit_classifier(data["train"].images, data["train"].labels, ClassifierConfig(epochs=3, seed=0))


@needs_data
def test_trained_classifier_held_out_accuracy(classifier, data):
    # measured 98.1 % for this 3-epoch model (validation 98.7 %, test 97.5 %); 2,000 held-out
    # images give a binomial sd of 0.31 % there, so 96.5 % is 5 sd below; a mis-scaled input or a
    # mis-aligned label gives far less
    held_images = torch.cat([data["validation"].images, data["test"].images])
    held_labels = torch.cat([data["validation"].labels, data["test"].labels])
    assert accuracy(classifier, held_images, held_labels) > 0.965


@needs_data
def test_training_is_deterministic_and_leaves_global_rng_alone(data):
    x, y = data["train"].images[:512], data["train"].labels[:512]
    cfg = ClassifierConfig(epochs=1, seed=4)
    with torch.random.fork_rng():  # leave the test session's generator as it was
        torch.manual_seed(123)
        state = torch.get_rng_state()
        a = train_digit_classifier(x, y, cfg)
        assert torch.equal(torch.get_rng_state(), state)
        torch.manual_seed(999)  # the caller's generator state does not matter
        b = train_digit_classifier(x, y, cfg)
    c = train_digit_classifier(x, y, ClassifierConfig(epochs=1, seed=5))
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["head.5.weight"], sc["head.5.weight"])


@needs_data
def test_save_and_load_round_trip(classifier, data, tmp_path):
    path = tmp_path / "clf.pt"
    record = data["train"].checksum() + ";" + data_checksum(data["train"].images, data["train"].labels)
    save_classifier(path, classifier, accuracy={"test": 0.98}, data=record, config=ClassifierConfig(epochs=3))
    loaded, info = load_classifier(path)
    x = data["test"].images
    assert torch.equal(classify_digits(x, loaded), classify_digits(x, classifier))
    assert info["accuracy"] == {"test": 0.98} and info["data"] == record
    assert "t10k-images-idx3-ubyte.gz=md5:9fb629c4189551a2d022fa330f9573f3" in info["data"]
    assert info["config"]["epochs"] == 3 and info["arch"] == DigitClassifier.ARCH


def test_load_refuses_missing_foreign_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "none.pt")):
        load_classifier(tmp_path / "none.pt")
    torch.save({"format": "something-else"}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a ganlab digit classifier"):
        load_classifier(tmp_path / "foreign.pt")
    blob = {"format": "ganlab-digit-classifier/1", "arch": DigitClassifier.ARCH, "state_dict": {"w": torch.zeros(1)}}
    torch.save(blob, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_classifier(tmp_path / "wrong.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot be read"):
        load_classifier(tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="accuracy"):
        save_classifier(tmp_path / "x.pt", DigitClassifier(), accuracy={"test": 98.0}, data="", config=ClassifierConfig())


@needs_data
def test_real_stacked_mnist_has_all_modes_and_small_kl(classifier, data):
    # pool: the 2,000 held-out images, never seen in training
    pool = torch.cat([data["validation"].images, data["test"].images])
    labels = torch.cat([data["validation"].labels, data["test"].labels])
    s = stacked_mnist(pool, labels, PACGAN_N_SAMPLES, seed=0)
    pred_pool = classify_digits(pool, classifier)
    # classifying the stacked images equals looking up the pool's predictions (checked on 1,500)
    lookup = mode_ids(pred_pool[s.indices])
    assert torch.equal(stacked_modes(s.images[:1500], classifier), lookup[:1500])
    modes, kl = mode_histogram_metrics(lookup)
    # predicted modes ~ Multinomial(n, q⊗q⊗q) exactly (module docstring); every q_k ≥ 0.08 here
    q = np.bincount(pred_pool.numpy(), minlength=10) / len(pred_pool)
    p = np.einsum("i,j,k->ijk", q, q, q).ravel()
    assert 1000 * (1 - p.min()) ** PACGAN_N_SAMPLES < 1e-6  # P(some mode empty) bound
    assert modes == 1000
    mean, sd = simulated_kl(p, PACGAN_N_SAMPLES)
    assert abs(kl - mean) < N_SD * sd
    # "small": the uniform-multinomial floor plus KL(q⊗q⊗q ‖ u) = 3·KL(q ‖ u_10)
    u_mean, u_sd = uniform_kl_moments(PACGAN_N_SAMPLES)
    shift = 3 * float(np.sum(q * np.log(10 * q)))
    assert mean == pytest.approx(u_mean + shift, abs=3 * u_sd)
    assert kl < 0.05
    # and the true-label modes agree with the predicted ones as often as three digits do
    acc = float((pred_pool == labels).double().mean())
    agree = float((lookup == s.modes).double().mean())
    assert abs(agree - acc**3) < 0.01  # both ≈ 0.94; sd of the agreement over 26,000 ≈ 0.0015
