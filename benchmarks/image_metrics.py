#!/usr/bin/env python
"""The image metrics on real MNIST: the digit classifier, Stacked-MNIST mode counts of real
samples, and a Parzen-window baseline, with times.

    python benchmarks/image_metrics.py [--data DIR] [--epochs 8] [--seed 0] [--device cpu]
                                       [--save-classifier PATH] [--json PATH] [--force]

Data: ``--data DIR`` (a folder with the IDX files or a torchvision root); by default the shipped
test split (``--data DIR`` or ``$GANLAB_MNIST_DIR``). With the 60,000-image training split present
the classifier trains on it and is scored on the 10,000 test images, the Stacked-MNIST pool and
the Parzen test points are test images; with only the test split (this project's machines) it is
cut 8,000 / 1,000 / 1,000 (``split_mnist``, seed ``--seed``): train / validation / test.

1. Classifier: ``train_digit_classifier`` with ``ClassifierConfig(epochs, seed)``; prints held-out
   accuracy per part.
2. Real Stacked MNIST: 26,000 samples (PacGAN's count) stacked from the held-out images, modes
   and KL(p̂ ‖ uniform) from the classifier (``stacked_modes`` on all 78,000 channels) and from the
   true labels, next to the uniform-multinomial reference (K − 1)/(2n) ± √(2(K − 1))/(2n).
3. Parzen baseline — NOT the paper's protocol: centres are real training-part digits (8,000 here,
   not 10,000 generated samples), σ from Goodfellow's grid on the validation part, mean ± s.e.
   over the test part, pixels in [0, 1]. It says what real data scores under this estimator on
   this split, a reference for generated samples evaluated the same way.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganlab.data.mnist import (  # noqa: E402
    MNIST,
    MNISTFileError,
    load_mnist,
    ENV_VAR,
    mnist_dir,
    split_mnist,
)
from ganlab.data.stacked import stacked_mnist  # noqa: E402
from ganlab.metrics.images import (  # noqa: E402
    PACGAN_N_SAMPLES,
    ClassifierConfig,
    accuracy,
    data_checksum,
    mode_histogram_metrics,
    save_classifier,
    stacked_modes,
    train_digit_classifier,
    uniform_kl_moments,
)
from ganlab.metrics.parzen import GOODFELLOW_SIGMAS, parzen_protocol, to_unit_interval  # noqa: E402


class Timer:
    """Wall and CPU seconds of a block: on a shared machine the CPU time is the steadier number."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # queued kernels belong to the block
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c

    def __str__(self):
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU"


def load_train_split(root: Path) -> MNIST | None:
    """The 60,000-image training split when ``root`` holds it (checked), else ``None``."""
    try:
        return load_mnist(root, "train")
    except MNISTFileError as e:
        if "not found" in str(e):
            return None
        raise  # present but damaged: say so


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="MNIST folder (default: the shipped test split)")
    ap.add_argument("--epochs", type=int, default=ClassifierConfig.epochs)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--n-stacked", type=int, default=PACGAN_N_SAMPLES)
    ap.add_argument("--save-classifier", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--force", action="store_true", help="overwrite existing --json / --save-classifier files")
    args = ap.parse_args(argv)
    for p in (args.json, args.save_classifier):
        if p is not None and p.exists() and not args.force:
            ap.error(f"{p} exists; pass --force to overwrite")

    root = mnist_dir(args.data)
    if root is None:
        ap.error(f"no MNIST folder given: pass --data DIR or set {ENV_VAR}")
    device = torch.device(args.device)
    report: dict = {"torch": str(torch.__version__), "threads": torch.get_num_threads(), "device": str(device)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), device {device}; data {root}")

    t = time.perf_counter()
    test = load_mnist(root, "test")
    train = load_train_split(root)
    if train is not None:
        parts = {"train": train, "test": test}
        held = {"test": test}
        layout = "train 60,000 / test 10,000"
    else:
        parts = split_mnist(test, seed=args.seed)
        held = {"validation": parts["validation"], "test": parts["test"]}
        layout = f"test split cut 8,000 / 1,000 / 1,000 (seed {args.seed})"
    print(f"loaded and checked in {time.perf_counter() - t:.2f} s: {layout}")
    report["data"] = {"root": str(root), "layout": layout, "files": test.files}

    # 1. classifier
    train_part = parts["train"]
    cfg = ClassifierConfig(epochs=args.epochs, seed=args.seed)
    with Timer() as t_train:
        clf = train_digit_classifier(train_part.images, train_part.labels, cfg, device=device)
    acc = {k: accuracy(clf, v.images.to(device), v.labels.to(device)) for k, v in held.items()}
    held_images = torch.cat([v.images for v in held.values()])
    held_labels = torch.cat([v.labels for v in held.values()])
    if len(held) > 1:
        acc["held-out"] = accuracy(clf, held_images.to(device), held_labels.to(device))
    print(f"\nclassifier: {len(train_part):,} training images, {cfg.epochs} epochs, {t_train}")
    for k, v in acc.items():
        n = len(held[k]) if k in held else len(held_labels)
        se = (v * (1 - v) / n) ** 0.5
        print(f"  accuracy on {k:<10} ({n:,} images): {100 * v:.2f} % ± {100 * se:.2f} (binomial s.e.)")
    record = train_part.checksum() + ";" + data_checksum(train_part.images, train_part.labels)
    report["classifier"] = {"config": asdict(cfg), "train_images": len(train_part),
                            "train_seconds": {"wall": t_train.wall, "cpu": t_train.cpu},
                            "accuracy": acc, "data": record}
    if args.save_classifier:
        save_classifier(args.save_classifier, clf, accuracy=acc, data=record, config=cfg)
        print(f"  saved to {args.save_classifier}")

    # 2. real Stacked MNIST
    s = stacked_mnist(held_images, held_labels, args.n_stacked, seed=args.seed)
    with Timer() as t_cls:
        pred = stacked_modes(s.images.to(device), clf)
    m_pred, kl_pred = mode_histogram_metrics(pred)
    m_true, kl_true = mode_histogram_metrics(s.modes)
    u_mean, u_sd = uniform_kl_moments(args.n_stacked)
    agree = float((pred.cpu() == s.modes.cpu()).double().mean())
    print(f"\nreal Stacked MNIST: {args.n_stacked:,} samples from {len(held_labels):,} held-out images "
          f"(classified {3 * args.n_stacked:,} channels in {t_cls})")
    print(f"  classifier modes {m_pred}, KL {kl_pred:.4f};  true-label modes {m_true}, KL {kl_true:.4f};  "
          f"mode agreement {100 * agree:.1f} %")
    print(f"  uniform multinomial reference KL {u_mean:.4f} ± {u_sd:.4f} (real digit frequencies add "
          f"3·KL(digit freq ‖ uniform))")
    report["stacked"] = {"n": args.n_stacked, "pool": len(held_labels),
                         "classify_seconds": {"wall": t_cls.wall, "cpu": t_cls.cpu},
                         "classifier": {"modes": m_pred, "kl": kl_pred}, "labels": {"modes": m_true, "kl": kl_true},
                         "agreement": agree, "uniform_reference": {"mean": u_mean, "sd": u_sd}}

    # 3. Parzen baseline (not the paper's protocol)
    if "validation" in parts:
        centres, val, tst = parts["train"], parts["validation"], parts["test"]
    else:  # full data: Goodfellow's validation is training images 50,000–50,999; 10,000 centres
        centres = MNIST(train.images[:10_000], train.labels[:10_000], train.files)
        val = MNIST(train.images[50_000:51_000], train.labels[50_000:51_000], train.files)
        tst = test
    with Timer() as t_parzen:
        r = parzen_protocol(to_unit_interval(centres.images).to(device), to_unit_interval(val.images),
                            to_unit_interval(tst.images), GOODFELLOW_SIGMAS)
    print(f"\nParzen baseline (NOT the paper's protocol: {len(centres):,} real digits as centres, σ on "
          f"{len(val):,} validation, {len(tst):,} test points, pixels in [0, 1]), {t_parzen}")
    print(f"  σ = {r.sigma:.4f}, log-likelihood {r.mean:.1f} ± {r.stderr:.1f} nats "
          f"(published adversarial nets, 10,000 generated samples: 225 ± 2)")
    print("  validation mean log p̂ by σ: " + ", ".join(f"{k:.3f}: {v:.1f}" for k, v in r.validation.items()))
    report["parzen_baseline"] = {"centres": len(centres), "validation": len(val), "test": len(tst),
                                 "sigma": r.sigma, "mean": r.mean, "stderr": r.stderr,
                                 "seconds": {"wall": t_parzen.wall, "cpu": t_parzen.cpu},
                                 "validation_by_sigma": {str(k): v for k, v in r.validation.items()}}

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, allow_nan=False))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
