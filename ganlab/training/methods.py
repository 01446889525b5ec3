"""Training methods: one typed configuration, named methods in a registry, and a label that says
what a configuration trains.

A method is a loss family (GAN on logits, or Wasserstein), a generator loss, an update schedule
(``schedules.SCHEDULES``: alternating, simultaneous, unrolled) with k discriminator steps per
generator step, packing (PacGAN), and regularisers (``regularisers.REGULARISERS``: a gradient
penalty, weight clipping). Fields carry metadata: ``help`` (the CLI's flag help), ``grid=True``
(a hyperparameter grid may vary it across the members of one batched run), ``choices``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..validation import check_choice, check_int, check_nonnegative, check_positive
from .losses import LOSSES
from .lr_schedules import LR_SCHEDULES, Cosine, Step, from_method
from .optim import OPTIMIZERS

SCHEDULE_NAMES = ("alternating", "simultaneous", "unrolled")  # ``schedules.SCHEDULES`` checks it matches


def option(default: Any, help: str, *, grid: bool = False, choices: tuple[str, ...] | None = None,
           flag: str | None = None) -> Any:
    """A dataclass field with the metadata the CLI and the grid read."""
    meta = {"help": help, "grid": grid, "choices": choices, "flag": flag}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class MethodConfig:
    """How one GAN is trained (see each field's help)."""

    loss: str = option("gan", "loss family: gan (D on logits) or wasserstein (critic)", choices=tuple(LOSSES))
    generator_loss: str = option("nonsaturating", "generator loss: minimax (descend log(1 − D(G(z)))), "
                                 "nonsaturating (descend −log D(G(z))), or wasserstein",
                                 choices=("minimax", "nonsaturating", "wasserstein"))
    schedule: str = option("alternating", "update order: alternating (k D steps, then g_steps G steps on fresh noise), "
                           "simultaneous (G's gradient at the same θ_D, on the same batch; both applied "
                           "together), unrolled (simultaneous, G's loss through K unrolled D steps)",
                           choices=SCHEDULE_NAMES)
    d_steps: int = option(1, "discriminator (critic) updates per generator update (k, n_critic)")
    g_steps: int = option(1, "generator updates per step, each on fresh noise (alternating schedule only)")
    pack: int = option(1, "PacGAN's m: D judges m samples concatenated")
    unroll: int = option(0, "K, the unrolled D steps inside G's loss (schedule unrolled; 0 = standard GAN)")
    unroll_order: str = option("second", "second: differentiate through the unrolled steps; first: treat them "
                               "as constants", choices=("first", "second"))
    clip: float | None = option(None, "WGAN weight clipping to [−c, c] after each critic update (none: off)",
                                grid=True)
    gp_lambda: float = option(0.0, "WGAN-GP gradient-penalty weight λ (0: off)", grid=True)
    optimizer: str = option("adam", "optimizer of both networks", choices=tuple(OPTIMIZERS))
    lr_d: float = option(1e-4, "discriminator learning rate", grid=True)
    lr_g: float = option(1e-4, "generator learning rate", grid=True)
    betas: tuple[float, float] = option((0.5, 0.999), "Adam's (β1, β2)")
    eps: float = option(1e-8, "ε of Adam and RMSprop")
    rmsprop_alpha: float = option(0.99, "RMSprop's smoothing constant α")
    batch_size: int = option(256, "samples per minibatch (with packing: packs per minibatch)", flag="batch")
    # the learning-rate schedule (``lr_schedules``): every member's lr_d and lr_g times its factor at each step
    lr_schedule: str = option("constant", "learning-rate schedule of both networks: constant; step (× lr_gamma "
                              "every lr_step_size steps); linear or cosine (down to lr_final_factor × the rate "
                              "over lr_horizon steps, then held)", choices=tuple(LR_SCHEDULES))
    lr_step_size: int | None = option(None, "steps between the step schedule's drops (torch's StepLR step_size)")
    lr_gamma: float = option(Step.gamma, "the step schedule's factor per drop (torch's StepLR gamma)")
    lr_horizon: int | None = option(None, "steps over which the linear or cosine schedule decays (torch's "
                                    "total_iters / T_max); fixed with the run, so an extended run goes on at the "
                                    "final rate")
    lr_final_factor: float = option(Cosine.final_factor, "the linear or cosine schedule's final rate as a fraction "
                                    "of the base rate (cosine: torch's eta_min / lr)")

    # fields added after run folders were saved: left out of a saved identity while at their default
    # (``config.method_to_dict``), so those folders keep their hash
    LATE_FIELDS: ClassVar[tuple[str, ...]] = ("lr_schedule", "lr_step_size", "lr_gamma", "lr_horizon",
                                              "lr_final_factor")

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, LOSSES)
        check_choice(f"generator loss for loss {self.loss!r}", self.generator_loss, LOSSES[self.loss].generator)
        check_choice("schedule", self.schedule, SCHEDULE_NAMES)
        check_int("d_steps", self.d_steps)
        check_int("g_steps", self.g_steps)
        if self.g_steps > 1 and self.schedule != "alternating":
            raise ValueError(f"g_steps={self.g_steps} needs schedule 'alternating', got {self.schedule!r}")
        check_int("pack", self.pack)
        check_int("batch_size", self.batch_size)
        check_int("unroll", self.unroll, minimum=0)
        check_choice("unroll order", self.unroll_order, ("first", "second"))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_positive("lr_d", self.lr_d)
        check_positive("lr_g", self.lr_g)
        check_positive("eps", self.eps)
        if self.clip is not None:
            check_positive("clip", self.clip)
        check_nonnegative("gp_lambda", self.gp_lambda)
        if not 0 <= self.rmsprop_alpha < 1:
            raise ValueError(f"rmsprop_alpha must lie in [0, 1), got {self.rmsprop_alpha!r}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        from_method(self)  # the learning-rate schedule and its parameters
        if self.unroll and self.schedule != "unrolled":
            raise ValueError(f"unroll={self.unroll} needs schedule 'unrolled', got {self.schedule!r}")
        if self.schedule == "unrolled" and self.loss != "gan":
            raise ValueError(f"the unrolled schedule is defined for the GAN loss, not loss {self.loss!r}")
        if self.clip is not None and self.gp_lambda:
            raise ValueError(
                f"clip={self.clip} with gp_lambda={self.gp_lambda}: weight clipping (WGAN) and the gradient "
                "penalty (WGAN-GP, which replaces clipping; Gulrajani et al. 2017) are two Lipschitz constraints; "
                "use one: clip none (e.g. --method wgan-gp) or gp_lambda 0 (--method wgan)")
        if self.schedule == "unrolled" and (self.gp_lambda or self.clip is not None):
            raise ValueError(
                f"schedule 'unrolled' with gp_lambda={self.gp_lambda} / clip={self.clip}: the unrolled "
                "discriminator steps would leave out the penalty or the clipping; use one or the other"
            )


def grid_fields() -> tuple[str, ...]:
    """Method fields a grid may vary across the members of one batched run."""
    return tuple(f.name for f in dataclasses.fields(MethodConfig) if f.metadata.get("grid"))


METHODS: dict[str, MethodConfig] = {
    # Goodfellow et al. 2014, Algorithm 1: G descends log(1 − D(G(z)))
    "vanilla": MethodConfig(generator_loss="minimax"),
    # ibid. §3: G ascends log D(G(z)) instead, for stronger early gradients
    "nonsaturating": MethodConfig(generator_loss="nonsaturating"),
    # Metz et al. 2017: K = 5 unrolled Adam steps, second order, simultaneous updates
    "unrolled": MethodConfig(schedule="unrolled", unroll=5),
    # Lin et al. 2018 (PacGAN2): the standard GAN loss on packs of 2
    "packed": MethodConfig(pack=2),
    # Arjovsky et al. 2017, Algorithm 1: α = 5e-5, c = 0.01, m = 64 (batch), n_critic = 5, RMSProp
    "wgan": MethodConfig(
        loss="wasserstein", generator_loss="wasserstein", d_steps=5, clip=0.01,
        optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5, batch_size=64,
    ),
    # Gulrajani et al. 2017, Algorithm 1: λ = 10, n_critic = 5, Adam α = 1e-4, β = (0, 0.9), m = 64
    "wgan-gp": MethodConfig(
        loss="wasserstein", generator_loss="wasserstein", d_steps=5, gp_lambda=10.0,
        lr_d=1e-4, lr_g=1e-4, betas=(0.0, 0.9), batch_size=64,
    ),
}


def make_method(name: str, **overrides: Any) -> MethodConfig:
    """A registered method with some fields replaced, e.g. ``make_method("packed", pack=4)``."""
    check_choice("method", name, METHODS)
    return dataclasses.replace(METHODS[name], **overrides)


def describe(m: MethodConfig, grid: dict[str, Any] | None = None) -> str:
    """What a configuration trains, from its fields (never from the name it started as): e.g.
    "nonsaturating", "packed m=4 (nonsaturating)", "unrolled K=5 (minimax)", "wgan-gp"."""
    grid = grid or {}
    if m.loss == "wasserstein":
        if m.gp_lambda or "gp_lambda" in grid:
            name = "wgan-gp"
        elif m.clip is not None or "clip" in grid:
            name = "wgan"
        else:
            name = "wasserstein (unconstrained)"
    else:  # a penalty or clipping on a GAN discriminator is legitimate (e.g. Fedus et al. 2018), and said
        name = "vanilla" if m.generator_loss == "minimax" else "nonsaturating"
        if m.gp_lambda or "gp_lambda" in grid:
            name += " + gp" if "gp_lambda" in grid else f" + gp λ={m.gp_lambda:g}"
        if m.clip is not None or "clip" in grid:
            name += " + clip" if "clip" in grid else f" + clip {m.clip:g}"
    extras = []
    if m.schedule == "unrolled":
        extras.append(f"unrolled K={m.unroll}")
    if m.pack > 1:
        extras.append(f"packed m={m.pack}")
    return f"{', '.join(extras)} ({name})" if extras else name
