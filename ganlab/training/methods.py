"""Training methods: one typed configuration, named methods in a registry, and a label that says
what a configuration trains.

A method is a loss family (``losses.LOSSES``: GAN on logits, Wasserstein, ...), a generator loss, an
update schedule (``schedules.SCHEDULES``: alternating, simultaneous, unrolled) with k discriminator
steps per generator step, packing (PacGAN), and regularisers (``regularisers.REGULARISERS``: a
gradient penalty, weight clipping, ...). Fields carry metadata: ``help`` (the CLI's flag help),
``grid=True`` (a hyperparameter grid may vary it across the members of one batched run),
``choices``. The loss and regulariser parts declare their own fields, rules and labels; this
module gathers them (``MethodConfig``, ``describe``) without naming any.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..validation import check_choice, check_int, check_positive
from .losses import LOSSES
from .lr_schedules import LR_SCHEDULES, Cosine, Step, from_method
from .optim import OPTIMIZERS
from .parts import PartField
from .regularisers import REGULARISERS, active_regularisers

SCHEDULE_NAMES = ("alternating", "simultaneous", "unrolled")  # ``schedules.SCHEDULES`` checks it matches


def option(default: Any, help: str, *, grid: bool = False, choices: tuple[str, ...] | None = None,
           flag: str | None = None) -> Any:
    """A dataclass field with the metadata the CLI and the grid read."""
    meta = {"help": help, "grid": grid, "choices": choices, "flag": flag}
    return field(default=default, metadata=meta)


def _parts() -> list:
    return [*LOSSES.values(), *REGULARISERS.values()]


def _generator_losses() -> dict[str, str]:
    """Every registered loss's generator losses, name → help, in registration order."""
    return {name: help_ for loss in LOSSES.values() for name, help_ in loss.generators.items()}


def _with_part_fields(cls: type) -> type:
    """Add every registered part's fields to the class before ``dataclass`` reads it (so flags, sweep
    keys and grid fields derive from them), and list the late ones in ``LATE_FIELDS``."""
    own: dict[str, PartField] = {}
    for part in _parts():
        for pf in part.fields:
            if pf.name in own or pf.name in cls.__annotations__:
                raise ValueError(f"method field {pf.name!r} is declared twice (by {type(part).__name__})")
            own[pf.name] = pf
            cls.__annotations__[pf.name] = pf.type
            setattr(cls, pf.name, option(pf.default, pf.help, grid=pf.grid, choices=pf.choices))
    cls.LATE_FIELDS = cls.LATE_FIELDS + tuple(name for name, pf in own.items() if pf.late)
    return cls


@dataclass(frozen=True)
@_with_part_fields
class MethodConfig:
    """How one GAN is trained (see each field's help); besides the fields below, every registered
    loss's and regulariser's own (e.g. ``gp_lambda``, ``clip``)."""

    loss: str = option("gan", "loss family: " + ", ".join(loss.help for loss in LOSSES.values()),
                       choices=tuple(LOSSES))
    generator_loss: str = option("nonsaturating", "generator loss (one its loss family offers): "
                                 + ", ".join(f"{k} ({v})" for k, v in _generator_losses().items()),
                                 choices=tuple(_generator_losses()))
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
    # (``config.method_to_dict``), so those folders keep their hash; parts' late fields are added
    LATE_FIELDS: ClassVar[tuple[str, ...]] = ("lr_schedule", "lr_step_size", "lr_gamma", "lr_horizon",
                                              "lr_final_factor")

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, LOSSES)
        loss = LOSSES[self.loss]
        check_choice("generator loss", self.generator_loss, _generator_losses())
        if self.generator_loss not in loss.generators:
            raise ValueError(f"generator loss {self.generator_loss!r} does not pair with loss {self.loss!r}; "
                             f"it takes {', '.join(map(repr, loss.generators))}")
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
        if not 0 <= self.rmsprop_alpha < 1:
            raise ValueError(f"rmsprop_alpha must lie in [0, 1), got {self.rmsprop_alpha!r}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        from_method(self)  # the learning-rate schedule and its parameters
        if self.unroll and self.schedule != "unrolled":
            raise ValueError(f"unroll={self.unroll} needs schedule 'unrolled', got {self.schedule!r}")
        for part in _parts():  # each part's own fields and pairings
            part.check(self)
        if self.schedule == "unrolled" and not loss.unrollable:
            raise ValueError(f"the unrolled schedule is defined for the GAN loss, not loss {self.loss!r}")
        for reg in REGULARISERS.values():
            if self.schedule == "unrolled" and reg.on(self) and not reg.with_unrolled:
                raise ValueError(
                    f"schedule 'unrolled' with {reg.weight}={getattr(self, reg.weight)}: the unrolled "
                    f"discriminator steps would leave out {reg.what}; use one or the other")


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
    regularisers = active_regularisers(m, grid)
    name, said = LOSSES[m.loss].label(m, regularisers)
    for reg in regularisers:  # a penalty or clipping on a GAN discriminator is legitimate (e.g. Fedus et al. 2018), and said
        if reg not in said:
            name += f" + {reg.label(m, grid)}"
    extras = []
    if m.schedule == "unrolled":
        extras.append(f"unrolled K={m.unroll}")
    if m.pack > 1:
        extras.append(f"packed m={m.pack}")
    return f"{', '.join(extras)} ({name})" if extras else name
