"""Stacked-MNIST mode counting with an MNIST classifier that ganlab trains itself.

The protocol is PacGAN's (Lin et al. 2018, Tables 2–3; code ``fjxmlzn/PacGAN``,
``stacked_MNIST_experiments/VEEGAN_experiment/``):

* ``train_mnist.py``: a Keras CNN (conv 32 3×3 ReLU, conv 64 3×3 ReLU, 2×2 max-pool, dropout 0.25,
  dense 128 ReLU, dropout 0.5, softmax), Adadelta, batch 128, 20 epochs, trained on the 60,000
  training images scaled to [0, 1] and validated on the 10,000 test images (Keras' demo quotes
  99.25 % after 12 epochs; the repository records no accuracy).
* ``model.py`` ``log_metrics``: 26,000 generated samples (``num_test_sample``; the unrolled-GAN
  variant uses 25,600), each channel classified separately (``evaluate.py``: argmax of the
  softmax), the mode keyed by the triple (d(ch 0), d(ch 1), d(ch 2)); "mode coverage" = number
  of distinct triples; the histogram over *all* samples (no confidence threshold), normalised,
  against q = 1/1000 in ``JSD().KLD(p, q) = Σ_{p_i ≠ 0} p_i log(p_i / q_i)`` (0 log 0 = 0; a zero
  in q raises). The counts are packed into the first slots of p regardless of the mode id, which
  gives the same value only because q is uniform; ``mode_histogram_metrics`` bins by id.

Here (``DigitClassifier``): a smaller CNN (conv 5×5 16 → BN → ReLU → pool, conv 5×5 32 → BN →
ReLU → pool, dropout 0.25, dense 128 ReLU, dropout 0.25, dense 10) trained with plain torch on
the training part of the available data, Adam with a one-cycle learning rate, ±2-pixel random
shifts; its inputs are ganlab's [−1, 1] pixels (PacGAN's are [0, 1]: an affine change of the first
layer, no difference in what the network can do). On this project's machines only the 10,000 test
images exist, so it trains on 8,000 of them and reports accuracy on the other 2,000 (see
``benchmarks/image_metrics.py``); with the full training split train on it and report the test
split. Its accuracy and a checksum of its training data travel with its saved state dict.
A classifier error moves a sample to a neighbouring mode: with per-digit accuracy a, about
1 − a³ of the stacked samples are binned in the wrong mode (3.9 % at a = 98.7 %, as measured).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.images import Digits, cache_dir
from ..data.stacked import CHANNELS, N_MODES, mode_ids
from ..rng import check_seed, torch_generator
from ..validation import check_int, check_positive

PACGAN_N_SAMPLES = 26_000  # PacGAN's VEEGAN-setting evaluation sample count
FORMAT = "ganlab-digit-classifier/1"
IMAGE_SHAPE = (1, 28, 28)


class DigitClassifier(nn.Module):
    """Small MNIST CNN on [−1, 1] pixels [n, 1, 28, 28] → logits [n, 10]."""

    ARCH = "conv5x5-16-bn-pool/conv5x5-32-bn-pool/fc128/fc10"

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # 24 → 12
            nn.Conv2d(16, 32, 5, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 8 → 4
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, 128), nn.ReLU(),
            nn.Dropout(0.25), nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass(frozen=True)
class ClassifierConfig:
    """Training settings (defaults measured in ``benchmarks/image_metrics.py``)."""

    epochs: int = 8
    batch_size: int = 64
    max_lr: float = 3e-3  # one-cycle peak for Adam
    max_shift: int = 2  # random translation of ±max_shift pixels, background-padded
    seed: int = 0


# -- input checks -------------------------------------------------------------------------------
def _check_images(name: str, images: torch.Tensor, channels: int) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(np.asarray(images))
    if images.ndim != 4 or tuple(images.shape[1:]) != (channels, 28, 28):
        raise ValueError(f"{name} must have shape [n, {channels}, 28, 28], got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be floating point pixels in [-1, 1], got dtype {images.dtype}")
    bad = int((~torch.isfinite(images)).sum())  # one sync per call, outside any loop
    if bad:
        raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or inf)")
    return images


def _check_labels(labels: torch.Tensor, n: int) -> torch.Tensor:
    labels = torch.as_tensor(labels)
    if labels.shape != (n,) or labels.is_floating_point():
        raise ValueError(f"labels must be integers of shape [{n}], got {labels.dtype} {tuple(labels.shape)}")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"labels must lie in 0..9, got range [{int(labels.min())}, {int(labels.max())}]")
    return labels.to(torch.int64)


# -- training -----------------------------------------------------------------------------------
def data_checksum(images: torch.Tensor, labels: torch.Tensor) -> str:
    """sha256 of the float32 pixels and int64 labels, in order: names the exact training data."""
    h = hashlib.sha256()
    h.update(images.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    h.update(labels.detach().to("cpu", torch.int64).contiguous().numpy().tobytes())
    return "sha256:" + h.hexdigest()


def random_shift(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Translate each image [b, 1, 28, 28] by (dy − s, dx − s) pixels, dy, dx ∈ {0..2s}, filling
    with background −1: pad by s on every side, then crop the 28 × 28 window at (dy, dx)."""
    if max_shift == 0:
        return x
    p = F.pad(x[:, 0], (max_shift,) * 4, value=-1.0)
    ar = torch.arange(28, device=x.device)
    rows = (dy[:, None] + ar)[:, :, None]
    cols = (dx[:, None] + ar)[:, None, :]
    b = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return p[b, rows, cols][:, None]


def train_digit_classifier(images: torch.Tensor, labels: torch.Tensor, config: ClassifierConfig = ClassifierConfig(),
                           device: str | torch.device | None = None) -> DigitClassifier:
    """Train ``DigitClassifier`` on images [n, 1, 28, 28] in [−1, 1] and labels [n] by minimising
    the cross-entropy −log softmax(f(x))_y with Adam under a one-cycle schedule (peak
    ``max_lr``), ``epochs`` passes over a fresh permutation each, the last partial batch dropped.

    Same seed, same weights: the initial weights and dropout masks come from torch's global
    generator seeded with ``seed`` inside ``torch.random.fork_rng`` (the caller's generator
    state is untouched), batch order and shifts from ``torch_generator(seed, "classifier-data")``.
    Bit-identical on CPU; on CUDA as deterministic as cuDNN's kernels are. Returned in eval mode."""
    seed = check_seed("seed", config.seed)
    epochs = check_int("epochs", config.epochs)
    batch = check_int("batch_size", config.batch_size)
    check_positive("max_lr", config.max_lr)
    shift = check_int("max_shift", config.max_shift, minimum=0)
    images = _check_images("images", images, 1)
    labels = _check_labels(labels, images.shape[0])
    n = images.shape[0]
    if n < batch:
        raise ValueError(f"need at least batch_size = {batch} images, got {n}")
    device = torch.device(device) if device is not None else images.device
    x_all, y_all = images.to(device, torch.float32), labels.to(device)
    steps_per_epoch = n // batch
    gen = torch_generator(seed, "classifier-data")
    fork = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork):
        torch.manual_seed(seed)
        model = DigitClassifier().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=config.max_lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.max_lr, total_steps=epochs * steps_per_epoch)
        model.train()
        for _ in range(epochs):
            # one epoch's order and shifts drawn on the CPU generator, moved once
            order = torch.randperm(n, generator=gen).to(device)
            offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=gen).to(device)
            for i in range(steps_per_epoch):
                idx = order[i * batch:(i + 1) * batch]
                x = random_shift(x_all[idx], offsets[0, idx], offsets[1, idx], shift)
                loss = F.cross_entropy(model(x), y_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    return model.eval()


# -- using the classifier -------------------------------------------------------------------------
def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def classify_digits(images: torch.Tensor, classifier: nn.Module, batch_size: int = 512) -> torch.Tensor:
    """Digit labels int64 [n] = argmax of the classifier's logits, for images [n, 1, 28, 28] in
    [−1, 1]; evaluated in eval mode on the classifier's device in chunks, returned on the
    images' device. Chunks of 512 ran 1.8× faster than 2,048 on a 1-thread CPU (smaller
    activations stay in cache)."""
    images = _check_images("images", images, 1)
    batch_size = check_int("batch_size", batch_size)
    dev = _device_of(classifier)
    was_training = classifier.training
    classifier.eval()
    try:
        out = [classifier(images[i:i + batch_size].to(dev, torch.float32)).argmax(dim=1)
               for i in range(0, images.shape[0], batch_size)]
    finally:
        classifier.train(was_training)
    return torch.cat(out).to(images.device)


def accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images whose predicted digit equals the label."""
    labels = _check_labels(labels, images.shape[0])
    return float((classify_digits(images, classifier) == labels.to(images.device)).double().mean())


def stacked_modes(images: torch.Tensor, classifier: nn.Module, batch_size: int = 512) -> torch.Tensor:
    """Mode ids int64 [n] of Stacked-MNIST images [n, 3, 28, 28]: each channel classified as a
    digit, id = 100·d(ch 0) + 10·d(ch 1) + d(ch 2)."""
    images = _check_images("images", images, CHANNELS)
    n = images.shape[0]
    digits = classify_digits(images.reshape(n * CHANNELS, 1, 28, 28), classifier, batch_size)
    return mode_ids(digits.view(n, CHANNELS))


def mode_histogram_metrics(modes: torch.Tensor, n_modes: int = N_MODES) -> tuple[int, float]:
    """(modes captured, KL(p̂ ‖ uniform)) of mode ids, PacGAN's Stacked-MNIST definition:
    p̂_k = count_k / n over all n samples, modes captured = #{k : p̂_k > 0},
    KL = Σ_{p̂_k > 0} p̂_k log(p̂_k · K) (0 log 0 = 0), in float64. All samples in one mode give
    (1, log K); exactly uniform counts give (K, 0)."""
    n_modes = check_int("n_modes", n_modes)
    modes = torch.as_tensor(modes)
    if modes.ndim != 1 or modes.numel() == 0:
        raise ValueError(f"modes must be a non-empty 1-D tensor of mode ids, got shape {tuple(modes.shape)}")
    if modes.is_floating_point() or modes.is_complex() or modes.dtype == torch.bool:
        raise ValueError(f"modes must be integer mode ids, got dtype {modes.dtype}")
    lo, hi = int(modes.min()), int(modes.max())
    if lo < 0 or hi >= n_modes:
        raise ValueError(f"mode ids must lie in 0..{n_modes - 1}, got range [{lo}, {hi}]")
    counts = torch.bincount(modes.to(torch.int64), minlength=n_modes).to(torch.float64)
    p = counts / counts.sum()
    nz = p > 0
    kl = float((p[nz] * torch.log(p[nz] * n_modes)).sum())
    return int(nz.sum()), max(kl, 0.0)  # Σ p log(pK) ≥ 0 exactly; clamp rounding below 0


def stacked_mode_metrics(images: torch.Tensor, classifier: nn.Module) -> tuple[int, float]:
    """``mode_histogram_metrics(stacked_modes(images, classifier))``: PacGAN uses 26,000 samples."""
    return mode_histogram_metrics(stacked_modes(images, classifier))


# -- saving ---------------------------------------------------------------------------------------
def save_classifier(path: str | Path, classifier: DigitClassifier, *, accuracy: dict[str, float],
                    data: str, config: ClassifierConfig) -> None:
    """Write {format, arch, state_dict, accuracy, data, config, torch} with ``torch.save``:
    ``accuracy`` maps a held-out part's name to its accuracy, ``data`` names the training data
    (source file checksums and ``data_checksum``), ``config`` the training settings."""
    if not isinstance(classifier, DigitClassifier):
        raise ValueError(f"classifier must be a DigitClassifier, got {type(classifier).__name__}")
    for k, v in accuracy.items():
        if not (isinstance(v, float) and 0.0 <= v <= 1.0):
            raise ValueError(f"accuracy[{k!r}] must be a float in [0, 1], got {v!r}")
    torch.save({
        "format": FORMAT, "arch": DigitClassifier.ARCH,
        "state_dict": {k: v.detach().cpu() for k, v in classifier.state_dict().items()},
        "accuracy": dict(accuracy), "data": str(data), "config": asdict(config),
        "torch": str(torch.__version__),
    }, Path(path))


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> tuple[DigitClassifier, dict]:
    """(classifier in eval mode on ``device``, record without the state dict) from
    ``save_classifier``'s file, read with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"classifier file not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"classifier file {path} cannot be read: {type(e).__name__}: {e}") from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a ganlab digit classifier (format {FORMAT!r})")
    if blob.get("arch") != DigitClassifier.ARCH:
        raise ValueError(f"{path} holds architecture {blob.get('arch')!r}, this ganlab builds {DigitClassifier.ARCH!r}")
    model = DigitClassifier()
    try:
        model.load_state_dict(blob["state_dict"])
    except (KeyError, RuntimeError) as e:
        raise ValueError(f"classifier file {path} holds weights that do not fit {DigitClassifier.ARCH}: {e}") from e
    info = {k: v for k, v in blob.items() if k != "state_dict"}
    return model.to(device).eval(), info


def digit_classifier(digits: "Digits", device: str | torch.device = "cpu"):
    """The digit classifier trained on ``digits.train`` (a data set's digits, ``ganlab.data.images``),
    loaded from the cache when one trained on the same files and settings is there, else trained (≈ 20 s CPU
    for 8,000 images) and cached with its accuracy on ``digits.test``."""
    config = ClassifierConfig()
    key = hashlib.sha256(f"{digits.record}|{len(digits.train)}|{config}".encode()).hexdigest()[:16]
    path = cache_dir() / f"digit-classifier-{key}.pt"
    if path.is_file():
        try:
            return load_classifier(path, device)[0]
        except ValueError:
            pass  # damaged or from another version: train again
    model = train_digit_classifier(digits.train.images, digits.train.labels, config)
    acc = accuracy(model, digits.test.images, digits.test.labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    save_classifier(tmp, model, accuracy={"test": acc}, data=digits.record, config=config)
    os.replace(tmp, path)
    return model.to(device)


def uniform_kl_moments(n: int, n_modes: int = N_MODES) -> tuple[float, float]:
    """Approximate mean and sd of KL(p̂ ‖ uniform) when p̂ is n uniform draws over K modes:
    2n·KL is the G-statistic, ≈ χ²_{K−1}, so mean ≈ (K − 1)/(2n), sd ≈ √(2(K − 1))/(2n)
    (26,000 samples, K = 1,000: 0.0192 ± 0.00086). A reference for "small KL" of real data."""
    n, k = check_int("n", n), check_int("n_modes", n_modes)
    return (k - 1) / (2 * n), math.sqrt(2 * (k - 1)) / (2 * n)
