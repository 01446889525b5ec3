"""MNIST reading: known answers from the shipped test split, every layout, every bad file.

Tests that need the shipped files skip, naming where they looked, when ``shared_data`` (the
tests' own finder) finds none. Independent references: the md5 / sha256 in ``../shared/data/mnist/README.md`` and
torchvision's ``MNIST.resources``; the IDX bytes decoded here with ``struct`` rather than the
module's reader; the first ten test labels (7 2 1 0 4 1 4 9 5 9) and the per-digit counts of the
test split (980 1135 1032 1010 982 892 958 1028 974 1009) as published for MNIST.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab.data import mnist
from ganlab.data.mnist import (
    FILES,
    MNISTFileError,
    load_mnist,
    has_split,
    mnist_dir,
    read_idx,
    split_indices,
    split_mnist,
    to_pixels,
)
from shared_data import not_found, shared_mnist_dir

SHARED = shared_mnist_dir()
needs_data = pytest.mark.skipif(SHARED is None, reason=not_found())
README_MD5 = {  # ../shared/data/mnist/README.md
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def test_split():
    if SHARED is None:
        pytest.skip("MNIST test split not found")
    return load_mnist(SHARED, "test")


def copy_test_files(dst: Path, gz: bool = True) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in FILES["test"][:2]:
        src = SHARED / f"{f.name}.gz"
        if gz:
            shutil.copy(src, dst / src.name)
        else:
            (dst / f.name).write_bytes(gzip.decompress(src.read_bytes()))
    return dst


def struct_decode(path: Path) -> tuple[tuple[int, ...], bytes]:
    """Independent IDX decode of an images file: big-endian header with struct."""
    data = gzip.decompress(path.read_bytes())
    magic, n, rows, cols = struct.unpack(">4i", data[:16])
    assert magic == 2051
    return (n, rows, cols), data[16:]


# -- checksums and contents -----------------------------------------------------------------
def test_checksums_agree_with_shared_readme_and_torchvision():
    # the module's table against the README's (test) and torchvision's resources list (train)
    assert {f"{f.name}.gz": f.gz_md5 for f in FILES["test"][:2]} == README_MD5
    assert [f.gz_md5 for f in FILES["train"][:2]] == [
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432"]


@needs_data
def test_shared_files_match_both_checksums():
    for f in FILES["test"][:2]:
        gz = (SHARED / f"{f.name}.gz").read_bytes()
        assert hashlib.md5(gz).hexdigest() == f.gz_md5
        assert hashlib.sha256(gzip.decompress(gz)).hexdigest() == f.raw_sha256


@needs_data
def test_test_split_known_answers(test_split):
    assert test_split.images.shape == (10_000, 1, 28, 28)
    assert test_split.images.dtype == torch.float32 and test_split.labels.dtype == torch.int64
    assert test_split.labels[:10].tolist() == FIRST_TEST_LABELS
    assert torch.bincount(test_split.labels, minlength=10).tolist() == TEST_COUNTS
    assert float(test_split.images.min()) == -1.0 and float(test_split.images.max()) == 1.0


@needs_data
def test_pixels_are_grey_over_127_5_minus_1(test_split):
    shape, payload = struct_decode(SHARED / "t10k-images-idx3-ubyte.gz")
    assert shape == (10_000, 28, 28)
    grey = np.frombuffer(payload, dtype=np.uint8).reshape(shape).astype(np.float64)
    expected = torch.from_numpy(grey / 127.5 - 1.0).to(torch.float32)[:, None]
    assert torch.equal(test_split.images, expected)


def test_to_pixels_endpoints_and_midpoint():
    out = to_pixels(np.array([0, 51, 255], dtype=np.uint8))
    assert out.tolist() == [-1.0, pytest.approx(51 / 127.5 - 1, abs=1e-7), 1.0]
    assert out.dtype == torch.float32


# -- layouts ------------------------------------------------------------------------------------
@needs_data
@pytest.mark.parametrize("layout", ["flat-gz", "torchvision-root", "raw-subdir", "ungzipped"])
def test_every_layout_reads_the_same_tensors(tmp_path, test_split, layout):
    if layout == "flat-gz":
        root = copy_test_files(tmp_path)
    elif layout == "torchvision-root":
        copy_test_files(tmp_path / "MNIST" / "raw")
        root = tmp_path
    elif layout == "raw-subdir":
        copy_test_files(tmp_path / "raw")
        root = tmp_path
    else:
        root = copy_test_files(tmp_path, gz=False)
    got = load_mnist(root, "test")
    assert torch.equal(got.images, test_split.images) and torch.equal(got.labels, test_split.labels)
    algo = "sha256" if layout == "ungzipped" else "md5"
    assert all(c.startswith(algo + ":") for c in got.files.values())


def test_the_folder_comes_from_the_argument_else_the_environment_variable(tmp_path, monkeypatch):
    """Package code never searches the file system for MNIST: the folder is --data-dir, else
    $GANLAB_MNIST_DIR, else none (and a run on an MNIST target is refused naming both)."""
    from ganlab.data.images import test8k_digits

    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    assert mnist_dir() is None and mnist_dir(tmp_path / "a") == tmp_path / "a"
    with pytest.raises(ValueError, match="give --data-dir DIR .* or set GANLAB_MNIST_DIR"):
        test8k_digits(None)
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "b"))
    assert mnist_dir() == tmp_path / "b" and mnist_dir(str(tmp_path / "a")) == tmp_path / "a"
    assert not has_split(tmp_path, "test")  # an empty folder holds no split
    if SHARED is not None:
        copy_test_files(tmp_path)
        assert has_split(tmp_path, "test") and not has_split(tmp_path, "train")


# -- bad files ------------------------------------------------------------------------------------
def test_missing_directory_and_file_are_named(tmp_path):
    with pytest.raises(MNISTFileError, match=str(tmp_path / "nowhere")):
        load_mnist(tmp_path / "nowhere", "test")
    with pytest.raises(MNISTFileError) as e:
        load_mnist(tmp_path, "train")
    msg = str(e.value)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in msg and "f68b3c2dcbeaaa9fbdd348bbdeb94873" in msg


@needs_data
def test_missing_labels_file_is_named_with_its_checksum(tmp_path):
    copy_test_files(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTFileError, match="t10k-labels-idx1-ubyte.gz.*ec29112dd5afa0611ce80d1b7f02629c"):
        load_mnist(tmp_path, "test")


@needs_data
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_truncated_or_corrupt_gz_names_path_and_md5(tmp_path, damage):
    copy_test_files(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(MNISTFileError) as e:
        load_mnist(tmp_path, "test")
    assert str(path) in str(e.value) and "9fb629c4189551a2d022fa330f9573f3" in str(e.value)


@needs_data
def test_truncated_ungzipped_file_names_path_and_sha256(tmp_path):
    copy_test_files(tmp_path, gz=False)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(MNISTFileError) as e:
        load_mnist(tmp_path, "test")
    assert str(path) in str(e.value) and FILES["test"][1].raw_sha256 in str(e.value)


@needs_data
def test_checksums_are_checked_before_parsing(tmp_path, monkeypatch):
    copy_test_files(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-5])
    calls = []
    monkeypatch.setattr(mnist, "read_idx", lambda *a, **k: calls.append(a))
    with pytest.raises(MNISTFileError):
        load_mnist(tmp_path, "test")
    assert calls == []  # the damaged labels file stopped everything, images included


@needs_data
def test_truncated_gz_without_checksums_still_fails_clearly(tmp_path):
    copy_test_files(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(MNISTFileError, match=str(path)):
        load_mnist(tmp_path, "test", verify=False)


def write_idx(path: Path, magic: int, dims: tuple[int, ...], payload: bytes) -> Path:
    path.write_bytes(struct.pack(f">{1 + len(dims)}i", magic, *dims) + payload)
    return path


def test_read_idx_structure_checks(tmp_path):
    ok = write_idx(tmp_path / "ok", 0x803, (2, 28, 28), bytes(range(256)) * 6 + bytes(32))
    assert read_idx(ok, 0x803, (2, 28, 28)).shape == (2, 28, 28)
    with pytest.raises(MNISTFileError, match="magic number 0x00000801, expected 0x00000803"):
        read_idx(write_idx(tmp_path / "m", 0x801, (3,), bytes(3)), 0x803, (-1, 28, 28))
    with pytest.raises(MNISTFileError, match=r"declares shape \(2, 27, 28\)"):
        read_idx(write_idx(tmp_path / "s", 0x803, (2, 27, 28), bytes(2 * 27 * 28)), 0x803, (-1, 28, 28))
    with pytest.raises(MNISTFileError, match="holds 1567 bytes after its header"):
        read_idx(write_idx(tmp_path / "t", 0x803, (2, 28, 28), bytes(1567)), 0x803, (2, 28, 28))
    with pytest.raises(MNISTFileError, match="holds 1569 bytes"):
        read_idx(write_idx(tmp_path / "x", 0x803, (2, 28, 28), bytes(1569)), 0x803, (2, 28, 28))
    with pytest.raises(MNISTFileError, match="shorter than its header"):
        read_idx(write_idx(tmp_path / "h", 0x803, (), b""), 0x803, (2, 28, 28))


def test_label_out_of_range_is_refused(tmp_path, monkeypatch):
    # a 10,000-image structurally valid split whose label 5 is 10; checksums off (it is not MNIST)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", 0x803, (10_000, 28, 28), bytes(10_000 * 784))
    labels = bytearray(10_000)
    labels[5] = 10
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", 0x801, (10_000,), bytes(labels))
    with pytest.raises(MNISTFileError, match="label 10 at index 5"):
        load_mnist(tmp_path, "test", verify=False)
    with pytest.raises(MNISTFileError, match="sha256"):
        load_mnist(tmp_path, "test")  # and with checksums on it is refused before parsing


def test_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown MNIST split 'valid'"):
        load_mnist(tmp_path, "valid")


# -- download -------------------------------------------------------------------------------------
def test_module_import_does_not_import_torchvision():
    code = "import sys, ganlab.data.mnist, ganlab.data.stacked; print('torchvision' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_download_without_torchvision_explains(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(MNISTFileError, match="torchvision cannot be imported"):
        load_mnist(tmp_path, "test", download=True)


@needs_data
def test_download_uses_torchvision_into_mnist_raw(tmp_path, monkeypatch):
    calls = []

    class FakeMNIST:  # stands in for torchvision.datasets.MNIST: fetches into ROOT/MNIST/raw
        def __init__(self, root, train, download):
            calls.append((root, train, download))
            copy_test_files(Path(root) / "MNIST" / "raw")

    datasets = types.SimpleNamespace(MNIST=FakeMNIST)
    monkeypatch.setitem(sys.modules, "torchvision", types.SimpleNamespace(datasets=datasets))
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    got = load_mnist(tmp_path, "test", download=True)
    assert calls == [(str(tmp_path), False, True)]
    assert got.labels[:10].tolist() == FIRST_TEST_LABELS
    load_mnist(tmp_path, "test", download=True)  # present now: no second download
    assert len(calls) == 1


# -- splits -------------------------------------------------------------------------------------------
def test_split_indices_partition_and_sizes():
    parts = split_indices(10_000, seed=3)
    assert {k: len(v) for k, v in parts.items()} == {"train": 8000, "validation": 1000, "test": 1000}
    allidx = torch.cat(list(parts.values()))
    assert torch.equal(allidx.sort().values, torch.arange(10_000))  # disjoint and covering


def test_split_indices_depend_on_the_seed_alone():
    a, b, c = (split_indices(10_000, seed=s) for s in (3, 3, 4))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["test"], c["test"])
    # the permutation is a uniformly random one: the test part's mean index is that of 1,000
    # draws without replacement from 0..9999, mean 4999.5, sd ≈ 2886.8/√1000·√(9000/9999) = 86.6
    m = a["test"].double().mean().item()
    assert abs(m - 4999.5) < 5 * 86.6


def test_split_indices_refuses_bad_sizes():
    with pytest.raises(ValueError, match="summing to n = 10"):
        split_indices(10, {"a": 5, "b": 4})
    with pytest.raises(ValueError, match="non-negative"):
        split_indices(10, {"a": 11, "b": -1})


@needs_data
def test_split_mnist_keeps_rows_aligned(test_split):
    parts = split_mnist(test_split, seed=0)
    idx = split_indices(10_000, seed=0)
    for k in parts:
        assert torch.equal(parts[k].images, test_split.images[idx[k]])
        assert torch.equal(parts[k].labels, test_split.labels[idx[k]])
        assert parts[k].files == test_split.files
