"""Image data sets as data sources, in a registry (``DATASETS``), selected like toy targets by name.

* ``mnist``: MNIST's training split from a user's directory (``--data-dir``, or torchvision's
  download where it works), cut as Goodfellow et al. (2014) did for their Parzen estimate: the GAN
  trains on the first 50,000 images, validation is images 50,000–50,999, test is the 10,000-image
  test split. Class labels: the digits.
* ``mnist-test8k``: what this project's machines hold — the 10,000-image test split (in
  ``--data-dir`` or ``$GANLAB_MNIST_DIR``), cut by the seeded
  permutation of ``ganlab.data.mnist.split_indices`` into 8,000 training, 1,000 validation and
  1,000 test images. Numbers from it are not the paper's protocol, and say so.
* ``stacked-mnist`` / ``stacked-mnist-test8k``: Stacked MNIST (three digits as the three
  channels, 1,000 modes; PacGAN, VEEGAN) over the training digits of the above, as a fixed set
  of 128,000 stacked samples drawn once (seed 0; PacGAN's VEEGAN-setting size), held as pool
  indices so that memory stays small. PacGAN's pool is MNIST's train + test images; here the
  training digits only, so that the test digits stay unseen.

Each source also carries what the image evaluators need: held-out validation and test images
(Parzen) and the digits a classifier is trained on (mode counting), with a checksum of the files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..rng import Streams
from .mnist import ENV_VAR, MNIST, load_mnist, mnist_dir, split_mnist
from .sources import TensorSource, _Epochs
from .stacked import N_MODES, stacked_indices

STACKED_SIZE = 128_000
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Digits:
    """The digit images a data set is made of: training, validation and test parts, and a record
    of the files they came from."""

    train: MNIST
    validation: MNIST
    test: MNIST

    @property
    def record(self) -> str:
        return self.train.checksum()


def _mnist_dir(data_dir: str | None, need_train: bool) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    if need_train:
        raise ValueError("target 'mnist' needs MNIST's training split: give --data-dir DIR (the folder of the "
                         "*-ubyte.gz files, or a torchvision root); on machines with only the test split use "
                         "target 'mnist-test8k'")
    found = mnist_dir()
    if found is None:
        raise ValueError(f"no MNIST folder given: give --data-dir DIR (a folder holding t10k-*-ubyte.gz) or set "
                         f"{ENV_VAR}")
    return found


def goodfellow_digits(data_dir: str | None) -> Digits:
    root = _mnist_dir(data_dir, need_train=True)
    train, test = load_mnist(root, "train"), load_mnist(root, "test")
    part = lambda a, b: MNIST(train.images[a:b], train.labels[a:b], train.files)  # noqa: E731
    return Digits(part(0, 50_000), part(50_000, 51_000), test)


def test8k_digits(data_dir: str | None) -> Digits:
    parts = split_mnist(load_mnist(_mnist_dir(data_dir, need_train=False), "test"))
    return Digits(parts["train"], parts["validation"], parts["test"])


class DigitSource(TensorSource):
    """MNIST images [M, 1, 28, 28] in [−1, 1] with their digit labels."""

    def __init__(self, digits: Digits):
        super().__init__(digits.train.images, digits.train.labels, classes=10)
        self.digits = digits
        self.mode_count = 10


class StackedSource(_Epochs):
    """A fixed set of Stacked-MNIST samples held as indices [size, 3] into the digit pool; a
    batch stacks the three pool images as channels. Labels: mode ids 100·d₁ + 10·d₂ + d₃."""

    target = None
    classes = 0
    shape: Shape = (3, 28, 28)
    mode_count = N_MODES

    def __init__(self, digits: Digits, size: int = STACKED_SIZE, seed: int = 0):
        self.digits = digits
        self.pool = digits.train.images[:, 0]  # [P, 28, 28]
        self.indices = stacked_indices(self.pool.shape[0], size, seed)
        self.size = size

    def prepare(self, streams: Streams, device: torch.device) -> None:
        self.pool, self.indices = self.pool.to(device), self.indices.to(device)

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        return self.pool[self.indices[self.rows(streams, step, sub, n)]].to(dtype)  # [N, n, 3, 28, 28]

    def labels(self, streams, purpose, step, sub, n):
        raise ValueError("Stacked MNIST is not used with class labels")


@dataclass(frozen=True)
class ImageDataset:
    shape: Shape
    classes: int
    build: Callable[[str | None], object]  # data_dir → data source


DATASETS: dict[str, ImageDataset] = {
    "mnist": ImageDataset((1, 28, 28), 10, lambda d: DigitSource(goodfellow_digits(d))),
    "mnist-test8k": ImageDataset((1, 28, 28), 10, lambda d: DigitSource(test8k_digits(d))),
    "stacked-mnist": ImageDataset((3, 28, 28), 0, lambda d: StackedSource(goodfellow_digits(d))),
    "stacked-mnist-test8k": ImageDataset((3, 28, 28), 0, lambda d: StackedSource(test8k_digits(d))),
}


def cache_dir() -> Path:
    """Where trained helpers (the digit classifier) are kept: $GANLAB_CACHE or ~/.cache/ganlab."""
    return Path(os.environ.get("GANLAB_CACHE", Path.home() / ".cache" / "ganlab"))
