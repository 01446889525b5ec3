"""Published training protocols as named configurations, each with its source."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from .config import TrainConfig
from .methods import METHODS, MethodConfig
from ..models.conv import DCGANSpec
from ..models.mlp import MLPSpec
from ..validation import check_choice


def pacgan(target: str = "grid25", pack: int = 1, seeds: tuple[int, ...] = tuple(range(10))) -> TrainConfig:
    """PacGAN's 2-D experiments (Lin et al. 2018, Table 1; fjxmlzn/PacGAN,
    synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py and pacgan_task.py).

    G: z ~ N(0, I₂) → 4 × [400, batch norm, ReLU, no bias] → 2 (output bias). D: 3 maxout layers
    (200 units, 5 pieces) → 1 logit, on packs of ``pack`` samples concatenated along features.
    Weights N(0, 0.02²), biases 0. Standard GAN loss on logits with softplus, non-saturating G.
    Adam lr 1e-4, β1 0.8, batch 100; one iteration is one simultaneous D and G update on the same
    batch and noise. 100,000 training samples, 400 epochs (400,000 iterations), evaluation on 2,500
    samples, 10 runs. Differences: evaluation uses batch statistics for batch norm (the reference
    uses population statistics); real packs are drawn from the training set each step rather than
    fixed when the data set is built.
    """
    return TrainConfig(
        target=target,
        method=MethodConfig(pack=pack, schedule="simultaneous", lr_d=1e-4, lr_g=1e-4, betas=(0.8, 0.999), batch_size=100),
        generator=MLPSpec(width=400, depth=4, batch_norm=True, bias=False, init="normal", init_scale=0.02),
        discriminator=MLPSpec(width=200, depth=3, maxout=5, init="normal", init_scale=0.02),
        noise_dim=2,
        steps=400_000,
        seeds=seeds,
        dataset_size=100_000,
        eval_every=10_000,
        eval_samples=2500,
    )


def unrolled(target: str = "ring8", unroll: int = 5, seeds: tuple[int, ...] = tuple(range(5))) -> TrainConfig:
    """The unrolled-GAN notebook (poolio/unrolled_gan, 'Unrolled GAN demo.ipynb'; the setting
    VEEGAN's 2-D table reuses).

    G and D: 2 × 128 tanh, orthogonal init (gain 1.4), z of 256 ~ N(0, I), batch 512, D Adam 1e-4,
    G Adam 1e-3, β1 0.5, 25,000 iterations, 5 unrolled Adam steps on the same batch, G descends
    the minimax loss log(1 − D(G(z))) through them, D and G updated simultaneously. Differences:
    the notebook's ring uses linspace(0, 2π, 8), 7 distinct modes; here 8 distinct modes. Its
    unrolled Adam adds ε to √v without bias correction inside the root (Keras 1); here ε is added to
    the bias-corrected √v̂ as torch's Adam does.

    VEEGAN's GAN row (ring: 1 mode, 99.3 % high quality) does not come out of this protocol as
    written down, and no single detail of it that we varied produces it. Measured (issue 9; a
    separate plain PyTorch loop of the notebook, 3 seeds × 5,000 iterations unless stated, 2,500
    samples, PacGAN's metrics): at the notebook's D learning rate 1e-4 the discriminator never
    leaves D ≈ ½ (its loss 1.3861 at 25,000 iterations; log 4 = 1.3863) and G drifts over the ring
    with few high-quality samples — 8 distinct centres: 7.0 ± 1.0 modes, 10.8 ± 4.0 % high quality
    at 25,000 iterations (5 seeds); the notebook's own 7-centre ring, scored against its 7 centres:
    3.3 ± 0.3 modes, 1.5 ± 0.8 % — and D stays at ½ whatever we changed among the initialisation
    (the TF 1.x orthogonal one with either SVD sign, torch's Haar orthogonal, Xavier), Adam's ε
    placement, alternating instead of simultaneous updates, the non-saturating or logit G loss,
    the ring's scale (radius 2, std 0.02: 8 modes,
    32 ± 6 %). The one detail that moves D off ½ is its learning rate: at lr_D = lr_G = 1e-3
    D learns (loss 1.23–1.33) and G's samples become high quality (8 distinct centres: 8.0 ± 0.0
    modes, 87.8 ± 0.9 %), still covering the ring rather than collapsing. VEEGAN's own code's GAN
    (ReLU, D one hidden layer, Xavier, Adam 1e-3 for both, batch 500, z of 255, minimax) at 25,000
    iterations: 7.2 ± 0.8 modes, 71 ± 18 % (5 seeds); non-saturating: 3.4 ± 1.9 modes, 28 ± 16 %.
    The published collapse to one mode was not reproduced by any of these; nor, in the notebook's
    own repository, by a user who asked for the settings (poolio/unrolled_gan issue #2, 2017: the
    paper's first author answered that the outcome hinges on the initial loss surface D sets up
    around G's mass, i.e. on D's initialisation and initial state, and pointed to the appendix).
    The paper's appendix A describes a different protocol from this notebook's (ReLU nets, a
    one-layer D on its input / 4, gain 0.8, G's learning rate 1e-4, a radius-2 ring): that one does
    collapse — see ``metz_appendix``.
    This preset itself (``ganlab sweep run benchmarks/protocols/veegan.toml``, GAN rows: K = 0, simultaneous, 25,000
    iterations, 5 seeds): ring 5.0 ± 1.8 modes, 5.4 ± 2.8 % high quality (VEEGAN: 1, 99.3 %); grid
    7.8 ± 1.6 modes, 3.1 ± 2.0 % (VEEGAN: 3.3, 0.5 %); D's loss, averaged between evaluations, between
    1.384 and 1.392 (log 4 = 1.386) from step 1,000 to 25,000, every seed, both targets. Its
    unrolled row on the ring (K = 5, 25,000 iterations, 5 seeds, ``--shard 3/4``): 8.0 ± 0.0 modes
    (every seed), 3.2 ± 0.5 % high quality, reverse KL 0.29 ± 0.12 (VEEGAN: 7.6, 35.6 %), D's loss
    between 1.384 and 1.386 from step 1,000 on — the same D ≈ ½ as the GAN rows; on the grid
    (``--shard 4/4``): 21.2 ± 0.7 modes, 2.5 ± 0.2 % (VEEGAN: 23.6, 16 %).
    """
    return TrainConfig(
        target=target,
        method=MethodConfig(
            generator_loss="minimax", schedule="unrolled", unroll=unroll,
            lr_d=1e-4, lr_g=1e-3, betas=(0.5, 0.999), batch_size=512,
        ),
        generator=MLPSpec(width=128, depth=2, activation="tanh", init="orthogonal", init_scale=1.4),
        discriminator=MLPSpec(width=128, depth=2, activation="tanh", init="orthogonal", init_scale=1.4),
        noise_dim=256,
        steps=25_000,
        seeds=seeds,
        eval_every=1000,
    )


def metz_appendix(target: str = "metz-ring8", unroll: int = 0, seeds: tuple[int, ...] = tuple(range(5))) -> TrainConfig:
    """The unrolled-GAN paper's own 2-D protocol (Metz et al. 2017, appendix A; the setting of its
    Figure 1), which differs from its companion notebook (the ``veegan`` preset) in six details.

    Data: 8 Gaussians of std 0.02 on a circle of radius 2 (``metz-ring8``). G: z of 256 ~ N(0, I)
    → 2 × [128, ReLU] → 2; D: input × 1/4 → [128, ReLU] → 1 (one hidden layer); every weight
    orthogonal with gain 0.8, biases 0; minimax losses; Adam 1e-4 for both, β1 0.5; alternating
    updates (one D step, then one G step). With ``unroll`` = K > 0: G descends through K unrolled D
    steps, simultaneous as in ``unrolled``. Not stated in the appendix, taken from the notebook:
    batch 512, 25,000 iterations, Adam's β2 0.999 and ε 1e-8.

    Its GAN collapses where the notebook's does not (issue 9): G's samples stay in one tight blob
    that hops around the ring from mode to mode (ganlab's snapshots of seed 1, like the paper's
    Figure 1), while D sits near ½. Which details do it was measured with a separate plain PyTorch
    loop (scratch code, not shipped; 5 seeds, 2,500 samples, this ring): at 25,000 iterations with
    simultaneous updates, 4 of 5 seeds ended in one or two blobs (per-axis std 0.08–0.9; 0–1 modes,
    0 % high quality) and the fifth covered the ring (8 modes, 87 %); with alternating updates the
    same 4 of 5 ended in one blob (std 0.07–0.16). At 10,000 iterations (simultaneous), changing:
    the init and Adam to torch's (Haar orthogonal, ε on the bias-corrected √v̂) from TF 1.0's and
    Keras's: blobs in 5 of 5 (std 0.13–0.22); gain 1.4 instead of 0.8: blobs in 4 of 5 (std
    0.37–0.71; the fifth 0.46 × 1.25); tanh instead of ReLU: spread, partly far off the ring (std
    0.4–4.7, 2.4 ± 0.7 modes); G's learning rate 1e-3 (the notebook's): 4 of 5 diverge (samples at
    |x| ≈ 10²–10⁴; so does the notebook's protocol with ReLU); D without the input scaling: spread
    (std 0.2–1.7, 2.4 ± 0.8 modes); D with two hidden layers on input / 4: spread in 4 of 5 (3.4 ±
    1.9 modes); the notebook's D (two layers, no scaling): spread, D ahead (loss 0.73), 5.6 ± 1.0
    modes. The ring's scale was not varied. So the collapse needs ReLU nets, the appendix's small D
    (one hidden layer on input / 4) and G's learning rate 1e-4 together; the initialisation's form
    and gain and the update order do not decide it. The blobs are not on a mode (median distance to
    the nearest centre 0.3–0.7 in the scratch loop, 0.22–0.82 in ganlab's run below, i.e. 11–41
    standard deviations), so VEEGAN's 99.3 % high quality is not reproduced. This preset itself
    (``ganlab sweep run benchmarks/protocols/metz.toml``, GAN rows, 25,000 iterations, 5 seeds): ring
    0.6 ± 0.2 modes, 1.0 ± 0.5 % high quality, every seed one blob (per-axis std 0.07–0.23), D's
    loss 1.385–1.386 at the end (VEEGAN: 1 mode, 99.3 %); grid 3.4 ± 0.9 modes, 1.5 ± 0.3 %, samples
    spread over part of the grid (std 0.6–2.8; VEEGAN: 3.3, 0.5 %). Unrolled rows (K = 5,
    simultaneous): ring 6.4 ± 1.6 modes, 62.3 ± 16 % (4 of 5 seeds all 8 modes at 72–81 %, the fifth
    0; VEEGAN: 7.6, 35.6 %); grid 21.2 ± 1.4 modes, 8.1 ± 1.0 % (VEEGAN: 23.6, 16 %).
    """
    return TrainConfig(
        target=target,
        method=MethodConfig(
            generator_loss="minimax", schedule="unrolled" if unroll else "alternating", unroll=unroll,
            lr_d=1e-4, lr_g=1e-4, betas=(0.5, 0.999), batch_size=512,
        ),
        generator=MLPSpec(width=128, depth=2, activation="relu", init="orthogonal", init_scale=0.8),
        discriminator=MLPSpec(width=128, depth=1, activation="relu", init="orthogonal", init_scale=0.8,
                              input_scale=0.25),
        noise_dim=256,
        steps=25_000,
        seeds=seeds,
        eval_every=1000,
    )


def wgan_gp_toy(target: str = "wgan-gp-25gaussians", seeds: tuple[int, ...] = (0,)) -> TrainConfig:
    """The WGAN-GP toy script (igul222/improved_wgan_training, gan_toy.py).

    G: z ~ N(0, I₂) → 3 × [512, ReLU] → 2; critic 3 × [512, ReLU] → 1; He-uniform init, biases 0.
    λ = 0.1 (the script's value; the paper uses 10), 5 critic steps per generator step, batch 256,
    Adam 1e-4, β = (0.5, 0.9), 100,000 generator iterations. Difference: the script initialises
    the last layers Glorot-uniform; here every layer is He-uniform.
    """
    return TrainConfig(
        target=target,
        method=dataclasses.replace(METHODS["wgan-gp"], gp_lambda=0.1, betas=(0.5, 0.9), batch_size=256),
        generator=MLPSpec(width=512, depth=3, init="he"),
        discriminator=MLPSpec(width=512, depth=3, init="he"),
        noise_dim=2,
        steps=100_000,
        seeds=seeds,
        eval_every=5000,
    )


def quick(target: str = "ring8", method: str = "nonsaturating", seeds: tuple[int, ...] = tuple(range(4))) -> TrainConfig:
    """Minutes on a laptop CPU: small nets (2 × 128 ReLU), z of 2, batch 256, 3,000 steps, the
    method's published defaults except that Adam's learning rate is 1e-3 (1e-4 barely leaves the
    initial collapse in 3,000 steps); WGAN keeps RMSProp 5e-5."""
    m = METHODS[method]
    if m.optimizer == "adam":
        m = dataclasses.replace(m, lr_d=1e-3, lr_g=1e-3)
    return TrainConfig(
        target=target,
        method=m,
        generator=MLPSpec(width=128, depth=2),
        discriminator=MLPSpec(width=128, depth=2),
        noise_dim=2,
        steps=3000,
        seeds=seeds,
        eval_every=500,
    )


# -- image GANs ----------------------------------------------------------------------------------
IMAGE_EVAL = dict(eval_samples=2000, final_samples=10_000, evaluators=("classifier_modes",),
                  final_evaluators=("classifier_modes", "parzen"))


def _epoch(target: str, batch: int) -> int:
    """Steps per pass over the training images of an image data set."""
    from ..data.images import STACKED_SIZE

    size = {"mnist": 50_000, "mnist-test8k": 8_000}.get(target, STACKED_SIZE)
    return size // batch


def mnist_mlp(target: str = "mnist-test8k", seeds: tuple[int, ...] = (0,)) -> TrainConfig:
    """The GAN-zoo seed's MLP GAN on MNIST: G z ∈ R¹⁰⁰ ~ N(0, I) → 128 → 256 → 512 → 1024 (batch
    norm, LeakyReLU 0.2) → 784 (tanh); D 784 → 512 → 256 (LeakyReLU 0.2) → 1; binary cross-entropy
    with the non-saturating generator loss; Adam 2e-4, β = (0.5, 0.999), batch 64; PyTorch's
    default initialisation. 40 epochs of the 8,000 training images of the test split (5,000 steps);
    evaluated every 5 epochs (classifier modes over 2,000 samples), finally with 10,000 samples
    (classifier modes and Goodfellow et al.'s Parzen estimate)."""
    batch = 64
    return TrainConfig(
        target=target,
        method=MethodConfig(lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), batch_size=batch),
        generator=MLPSpec(widths=(128, 256, 512, 1024), activation="leaky_relu", batch_norm=True,
                          out_activation="tanh"),
        discriminator=MLPSpec(widths=(512, 256), activation="leaky_relu"),
        noise_dim=100, steps=40 * _epoch(target, batch), seeds=seeds, eval_every=5 * _epoch(target, batch),
        **IMAGE_EVAL,
    )


def mnist_dcgan(target: str = "mnist-test8k", seeds: tuple[int, ...] = (0,), classes: int = 0,
                method: str = "nonsaturating") -> TrainConfig:
    """DCGAN (Radford et al. 2016) on 28 × 28 digits in the GAN-zoo's MNIST shape (``DCGANSpec``:
    z ∈ R¹⁰⁰ → 1024 → 128 × 7 × 7 → 64 × 14 × 14 → 1 × 28 × 28, mirrored D), weights N(0, 0.02²),
    Adam 2e-4, β = (0.5, 0.999), batch 64, 25 epochs. ``classes=10`` makes it the conditional
    DCGAN (label embedding in G, label plane in D). ``method="wgan-gp"``: the critic without batch
    norm, λ = 10, 5 critic steps, Adam 1e-4, β = (0.5, 0.9) (the WGAN-GP paper's MNIST script),
    batch 50."""
    if method == "wgan-gp":
        batch = 50
        m = dataclasses.replace(METHODS["wgan-gp"], betas=(0.5, 0.9), batch_size=batch)
        d_spec = DCGANSpec(batch_norm=False)
    else:
        batch = 64
        m = dataclasses.replace(METHODS[method], lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), batch_size=batch)
        d_spec = DCGANSpec()
    return TrainConfig(
        target=target, method=m, generator=DCGANSpec(), discriminator=d_spec, classes=classes,
        noise_dim=100, steps=25 * _epoch(target, batch), seeds=seeds, eval_every=5 * _epoch(target, batch),
        **IMAGE_EVAL,
    )


def stacked_dcgan(target: str = "stacked-mnist-test8k", seeds: tuple[int, ...] = (0,), pack: int = 1) -> TrainConfig:
    """DCGAN on Stacked MNIST (PacGAN Table 3 reports DCGAN 78.9 ± 6.5 modes / KL 4.5 and PacDCGAN2
    1000 modes / KL 0.06 over 26,000 samples): the MNIST DCGAN shapes with 3 channels, ``pack``
    samples per decision (PacGAN concatenates them along channels), Adam 2e-4, β = (0.5, 0.999),
    batch 64, 5 passes over the 128,000 stacked samples; final modes over 26,000 samples.
    Differences from PacGAN's code: its DCGAN follows VEEGAN's TensorFlow one, its pool is MNIST's
    train + test digits, and it trains for its own number of iterations."""
    batch = 64
    return TrainConfig(
        target=target,
        method=MethodConfig(pack=pack, lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), batch_size=batch),
        generator=DCGANSpec(), discriminator=DCGANSpec(), noise_dim=100,
        steps=5 * _epoch(target, batch), seeds=seeds, eval_every=_epoch(target, batch) // 2,
        eval_samples=2000, final_samples=26_000, evaluators=("classifier_modes",),
        final_evaluators=("classifier_modes",),
    )


PRESETS: dict[str, Callable[..., TrainConfig]] = {
    "quick": quick,
    "pacgan": pacgan,
    "unrolled": unrolled,
    "veegan": unrolled,
    "metz-appendix": metz_appendix,
    "wgan-gp-toy": wgan_gp_toy,
    "mnist-mlp": mnist_mlp,
    "mnist-dcgan": mnist_dcgan,
    "mnist-cdcgan": lambda target="mnist-test8k", seeds=(0,): mnist_dcgan(target, seeds, classes=10),
    "mnist-wgan-gp": lambda target="mnist-test8k", seeds=(0,): mnist_dcgan(target, seeds, method="wgan-gp"),
    "stacked-dcgan": stacked_dcgan,
}


def preset_takes(name: str, parameter: str) -> bool:
    """Whether preset ``name`` is a function of ``parameter`` (e.g. ``method``, ``unroll``)."""
    return parameter in inspect.signature(PRESETS[name]).parameters


def make_preset(name: str, **kwargs: Any) -> TrainConfig:
    """The preset's configuration; on another target than its own, its evaluators that cannot run
    there (mode counts on the sample-only swiss roll, the digit classifier on a toy target) are
    left out, so that the configuration lists only what is measured (evaluators named by the user
    are checked instead: ``evaluators.check_evaluators``)."""
    from .evaluators import applicable

    check_choice("preset", name, PRESETS)
    cfg = PRESETS[name](**kwargs)
    keep = {k: applicable(getattr(cfg, k), cfg.target, cfg.target_kwargs) for k in ("evaluators", "final_evaluators")}
    return cfg if all(keep[k] == getattr(cfg, k) for k in keep) else dataclasses.replace(cfg, **keep)
