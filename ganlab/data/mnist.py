"""MNIST read from torchvision's raw IDX layout, checked, with pixels scaled to [−1, 1].

Where the files come from (``load_mnist(root, split)``):

* a user's directory (``--data DIR``) that holds the four ``*-ubyte.gz`` files (or their
  un-gzipped versions) directly, or a torchvision root whose ``MNIST/raw/`` holds them;
* torchvision's download (``download=True``) when the files are absent and torchvision imports:
  it writes them to ``ROOT/MNIST/raw/``. torchvision is imported only then, never at module
  import (on this project's CPU machines it does not import at all);
* the folder the user names: ``--data-dir``, else the environment variable ``GANLAB_MNIST_DIR``
  (``mnist_dir``). Package code never searches the file system for it; tests and benchmarks
  find the lab's shared copy of the test split themselves and pass it on. ``split_indices`` cuts
  the test split into train / validation / test = 8,000 / 1,000 / 1,000 by a seeded
  permutation, for machines that hold only it.

Every file is checked before it is parsed: a ``.gz`` file against torchvision's published md5
(``torchvision/datasets/mnist.py``, ``MNIST.resources``), an un-gzipped file against the sha256 of
the uncompressed bytes (published in public MNIST loaders; for the test files verified here
against the decompressed shared copy, whose ``.gz`` md5s match torchvision's). A missing,
truncated or corrupt file raises ``MNISTFileError`` naming the path and the expected checksum.
Then the IDX header is checked: magic number (0x00000803 images / 0x00000801 labels, unsigned
bytes), 28 × 28 images, the split's count (60,000 / 10,000), a payload of exactly the declared
size, labels in 0..9, as many labels as images.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..rng import Streams, check_seed

ENV_VAR = "GANLAB_MNIST_DIR"
IMAGE_SIZE = 28
N_CLASSES = 10
IMAGES_MAGIC = 0x00000803  # IDX: 0, 0, type 0x08 (unsigned byte), 3 dimensions
LABELS_MAGIC = 0x00000801  # IDX: 0, 0, type 0x08 (unsigned byte), 1 dimension


@dataclass(frozen=True)
class RawFile:
    """One MNIST file: its name without ``.gz``, the md5 of the ``.gz`` file (torchvision's
    ``MNIST.resources``) and the sha256 of the uncompressed bytes."""

    name: str
    gz_md5: str
    raw_sha256: str


FILES: dict[str, tuple[RawFile, RawFile, int]] = {
    "train": (
        RawFile("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        RawFile("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        60_000,
    ),
    "test": (
        RawFile("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        RawFile("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        10_000,
    ),
}

# 8,000 / 1,000 / 1,000 of the 10,000 test images: see split_indices
DEFAULT_SPLIT = {"train": 8_000, "validation": 1_000, "test": 1_000}


class MNISTFileError(ValueError):
    """A missing, truncated, corrupt or malformed MNIST file (the message names the path)."""


@dataclass(frozen=True)
class MNIST:
    """One split: ``images`` float32 [n, 1, 28, 28] in [−1, 1], ``labels`` int64 [n] in 0..9,
    ``files`` {path: checksum it matched ("md5:…" / "sha256:…", or "unchecked")}."""

    images: torch.Tensor
    labels: torch.Tensor
    files: dict[str, str]

    def __len__(self) -> int:
        return self.labels.shape[0]

    def checksum(self) -> str:
        """One string naming the source files by checksum, to record with anything trained on them."""
        return ";".join(f"{Path(p).name}={c}" for p, c in sorted(self.files.items()))


# -- locating files --------------------------------------------------------------------------
def mnist_dir(data_dir: str | Path | None = None) -> Path | None:
    """The MNIST folder the user named: ``data_dir`` (``--data-dir``), else ``$GANLAB_MNIST_DIR``;
    None when neither is given."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else None


def has_split(root: str | Path, split: str = "test") -> bool:
    """Whether ``root`` (or its torchvision layout) holds both files of ``split``."""
    try:
        _find_split_files(Path(root), split)
    except MNISTFileError:
        return False
    return True


def _candidate_dirs(root: Path) -> list[Path]:
    return [root, root / "MNIST" / "raw", root / "raw"]


def _find_file(root: Path, f: RawFile) -> tuple[Path, str, str]:
    """(path, algorithm, expected digest) of ``f`` under ``root``: the ``.gz`` file is preferred
    (torchvision keeps both after a download), the un-gzipped one used otherwise."""
    for d in _candidate_dirs(root):
        if (d / f"{f.name}.gz").is_file():
            return d / f"{f.name}.gz", "md5", f.gz_md5
        if (d / f.name).is_file():
            return d / f.name, "sha256", f.raw_sha256
    looked = ", ".join(str(d / f"{f.name}.gz") for d in _candidate_dirs(root))
    raise MNISTFileError(
        f"MNIST file not found: {root / (f.name + '.gz')} (looked for {looked} and the un-gzipped "
        f"{f.name}); expected md5 {f.gz_md5} for the .gz file, sha256 {f.raw_sha256} un-gzipped. "
        f"Download it with load_mnist(..., download=True) where torchvision works."
    )


def _find_split_files(root: Path, split: str) -> list[tuple[Path, str, str]]:
    if split not in FILES:
        raise ValueError(f"unknown MNIST split {split!r}; known: {', '.join(FILES)}")
    root = Path(root)
    if not root.is_dir():
        raise MNISTFileError(f"MNIST directory not found: {root}")
    images, labels, _ = FILES[split]
    return [_find_file(root, images), _find_file(root, labels)]


# -- reading and checking ---------------------------------------------------------------------
def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: Path, algorithm: str, expected: str) -> None:
    """Raise ``MNISTFileError`` naming ``path`` and the expected digest unless they match."""
    got = file_digest(path, algorithm)
    if got != expected:
        raise MNISTFileError(
            f"MNIST file {path} is truncated or corrupt: {algorithm} {got}, expected {expected} "
            f"({path.stat().st_size} bytes). Delete it and download it again."
        )


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise MNISTFileError(f"MNIST file {path} cannot be read (truncated or corrupt): {e}") from e


def read_idx(path: Path | str, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """Parse an unsigned-byte IDX file (gzipped or not): a big-endian int32 magic number
    (0, 0, type 0x08, number of dimensions), one big-endian int32 per dimension, then the bytes.
    ``shape`` gives the expected dimensions (``-1`` accepts any). Checks the magic number, the
    dimensions and that the payload has exactly prod(dims) bytes."""
    path = Path(path)
    ndim = magic & 0xFF
    if len(shape) != ndim:
        raise ValueError(f"shape {shape} has {len(shape)} dimensions, magic number {magic:#010x} declares {ndim}")
    data = _read_bytes(path)
    header = 4 * (1 + ndim)
    got_magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if got_magic is not None and got_magic != magic:
        raise MNISTFileError(f"MNIST file {path} has magic number {got_magic:#010x}, expected {magic:#010x}")
    if len(data) < header:
        raise MNISTFileError(f"MNIST file {path} is truncated: {len(data)} bytes, shorter than its header")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if any(e not in (-1, g) for e, g in zip(shape, dims, strict=True)):
        raise MNISTFileError(f"MNIST file {path} declares shape {dims}, expected {shape}")
    size = int(np.prod(dims))
    if len(data) - header != size:
        raise MNISTFileError(
            f"MNIST file {path} holds {len(data) - header} bytes after its header, its header "
            f"declares {dims} = {size} (truncated or corrupt)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def to_pixels(raw: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 grey levels x ∈ {0, …, 255} → x / 127.5 − 1, float32.

    The issue asks for pixels "in (−1, 1)", the range of a tanh generator. The map is the exact
    affine one (DCGAN's ``/127.5 − 1``; PacGAN's unrolled-GAN Stacked-MNIST variant uses
    ``/255·2 − 1``): 0 → −1 and 255 → +1 exactly, so real MNIST fills the closed interval
    [−1, 1] (most pixels are background, exactly −1), while tanh only approaches the ends. We
    keep the exact map rather than squeeze the data into the open interval: squeezing would move
    every pixel to make a difference of order 1e-3 disappear that no discriminator is limited by."""
    t = raw if isinstance(raw, torch.Tensor) else torch.from_numpy(np.asarray(raw, dtype=np.float64))
    return (t.to(torch.float64) / 127.5 - 1.0).to(torch.float32)  # correctly rounded to float32


def load_mnist(root: Path | str, split: str = "test", *, download: bool = False,
               verify: bool = True) -> MNIST:
    """Load one split (``"train"``: 60,000 images, ``"test"``: 10,000) from ``root``.

    ``root`` holds the IDX files directly or is a torchvision root (``root/MNIST/raw``). With
    ``download=True`` missing files are fetched by torchvision into ``root/MNIST/raw``.
    ``verify=False`` skips the checksums (a modified copy), not the structural checks.
    Returns images float32 [n, 1, 28, 28] = grey / 127.5 − 1 ∈ [−1, 1] and labels int64 [n]."""
    root = Path(root)
    try:
        found = _find_split_files(root, split)
    except MNISTFileError:
        if not download:
            raise
        _torchvision_download(root, split)
        found = _find_split_files(root, split)
    if verify:  # all checksums before any parsing
        for path, algorithm, expected in found:
            verify_file(path, algorithm, expected)
    (img_path, *_), (lab_path, *_) = found
    n = FILES[split][2]
    raw = read_idx(img_path, IMAGES_MAGIC, (n, IMAGE_SIZE, IMAGE_SIZE))
    labels = read_idx(lab_path, LABELS_MAGIC, (n,))
    if labels.max() >= N_CLASSES:
        bad = int(np.argmax(labels >= N_CLASSES))
        raise MNISTFileError(f"MNIST file {lab_path} holds label {labels[bad]} at index {bad}, outside 0..9")
    files = {str(p): (f"{a}:{e}" if verify else "unchecked") for p, a, e in found}
    return MNIST(to_pixels(raw)[:, None], torch.from_numpy(labels.astype(np.int64)), files)


def _torchvision_download(root: Path, split: str) -> None:
    """Fetch a split with torchvision (imported here only) into ``root/MNIST/raw``."""
    try:
        from torchvision.datasets import MNIST as TorchvisionMNIST
    except Exception as e:  # ImportError, or torchvision built for another torch (RuntimeError)
        raise MNISTFileError(
            f"MNIST files are missing under {root} and torchvision cannot be imported to download "
            f"them ({type(e).__name__}: {e}). Install a torchvision matching your torch, or place "
            f"the four *-ubyte.gz files in {root}."
        ) from e
    TorchvisionMNIST(str(root), train=(split == "train"), download=True)


# -- splits -------------------------------------------------------------------------------------
def split_indices(n: int, sizes: dict[str, int] | None = None, seed: int = 0) -> dict[str, torch.Tensor]:
    """Disjoint index sets of range(n) with the given sizes (default train / validation / test =
    8,000 / 1,000 / 1,000 of the 10,000-image test split), cut in order from one uniformly random
    permutation: Philox stream ``Streams([seed]).permutation("mnist-split", 0, 0, n)``, so the
    split depends on the seed alone (not on torch's generator or version). Sizes must sum to n."""
    seed = check_seed("seed", seed)
    sizes = dict(DEFAULT_SPLIT if sizes is None else sizes)
    if any(not isinstance(s, int) or s < 0 for s in sizes.values()) or sum(sizes.values()) != n:
        raise ValueError(f"split sizes must be non-negative integers summing to n = {n}, got {sizes}")
    perm = Streams([seed]).permutation("mnist-split", 0, 0, n)[0]
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = perm[start:start + size]
        start += size
    return out


def split_mnist(data: MNIST, sizes: dict[str, int] | None = None, seed: int = 0) -> dict[str, MNIST]:
    """``data`` cut by ``split_indices(len(data), sizes, seed)``; each part keeps the file record."""
    return {name: MNIST(data.images[idx], data.labels[idx], data.files)
            for name, idx in split_indices(len(data), sizes, seed).items()}
