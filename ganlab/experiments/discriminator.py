"""Proposition 1 and Theorem 1 of Goodfellow et al. (2014) happening: a discriminator network
trained alone by gradient descent against a fixed, known p_g

* approaches D*(x) = p_data(x)/(p_data(x) + p_g(x)); the residual is reported as the
  (p_data + p_g)/2-weighted L1 distance ∫ |D − D*| (p_data + p_g)/2 and as the largest |D − D*|
  over the supports (over fresh samples of p_data and p_g where (p_data + p_g)/2 is at least 1 %
  of its largest value there), against training steps and against the network's width;
* reaches a value V(D, G) = E_{p_data} log D + E_{p_g} log(1 − D) that approaches
  C(G) = max_D V(D, G) = −log 4 + 2·JSD(p_data ‖ p_g) from below: C(G) − V(D, G) =
  ∫ (p_data + p_g) KL(Bern(D*) ‖ Bern(D)) ≥ 0 for every D.

The other label convention (real = 0, as in the UCSB slides): trained with p_g as its "real" side
and p_data as its "fake" side, D approaches D' = p_g/(p_data + p_g) = 1 − D*, and the ½-weighted
objective ½[E_{p_data} log(1 − D') + E_{p_g} log D'] has maximum ½ C(G) = JSD − log 2.

Every arm (a pair and a convention) trains S seeds, all arms of one dimension in one batched run
(``MixtureFamily`` gives each member its own p_data and p_g): 1-D pairs on ``mixture1d``, 2-D pairs
on ``ring8`` with std 0.2 (identical, shifted by one std, mode-dropped, widened). Adam at a fixed
learning rate, then the last ``decay_steps`` at a tenth of it (to settle Adam's stationary noise; a
step learning-rate schedule, ``common.lr_decay``).
Every exact side comes from the theory's functions: ``make_optimal_discriminator``,
``virtual_criterion`` and ``jensen_shannon`` by quadrature, ``value_function`` by Monte Carlo on
fresh samples (with its standard error).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..models.mlp import MLPSpec
from ..rng import derive_seed
from ..theory.divergences import Estimate, jensen_shannon
from ..theory.gan import make_optimal_discriminator, value_function, virtual_criterion
from ..theory.targets import GaussianMixture, make_target, mixture_1d
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from ..training.methods import MethodConfig
from ..theory.pairs import drop_modes, shifted
from .common import SharedLogits, fresh, lr_decay, member_seeds, mixture_kwargs, pick, widened
from .family import MixtureFamily

BULK = 0.01  # "the supports": where (p_data + p_g)/2 is at least 1 % of its largest value on the samples


@dataclass(frozen=True)
class Settings:
    """One budget of the experiment."""

    steps: int  # discriminator updates
    seeds: int  # seeds per arm
    width: int  # hidden width of D (2 hidden ReLU layers)
    batch: int  # samples of each side per update
    lr: float  # Adam's learning rate, β = (0.5, 0.999)
    decay_steps: int  # the last steps, at lr / 10
    eval_samples: int  # fresh samples of each side for V and the residuals
    history: tuple[int, ...]  # steps at which the residual is recorded
    history_samples: int
    widths: tuple[int, ...] = ()  # the width sweep on WIDTH_ARM (none: no sweep)
    depth: int = 2


SETTINGS = {
    "short": Settings(steps=1000, seeds=4, width=32, batch=256, lr=3e-3, decay_steps=300, eval_samples=20_000,
                      history=(0, 50, 100, 200, 400, 700), history_samples=2000),
    "long": Settings(steps=3000, seeds=6, width=64, batch=256, lr=2e-3, decay_steps=800, eval_samples=100_000,
                     history=(0, 50, 100, 200, 400, 700, 1000, 2000), history_samples=10_000,
                     widths=(1, 2, 4, 8, 16, 32)),
}
WIDTH_ARM = "shifted 1-D"


@dataclass(frozen=True)
class Arm:
    """A pair (p_data, p_g) and a label convention: ``real_label`` 1 trains D on p_data as real
    (D → p_data/(p_data + p_g)); 0 on p_g as real (D → p_g/(p_data + p_g)), whose objective is
    reported ½-weighted."""

    name: str
    p_data: GaussianMixture
    p_g: GaussianMixture
    real_label: int = 1

    @property
    def sides(self) -> tuple[GaussianMixture, GaussianMixture]:
        """(what D is trained to call real, what it is trained to call fake)."""
        return (self.p_data, self.p_g) if self.real_label == 1 else (self.p_g, self.p_data)

    @property
    def weight(self) -> float:
        """The objective's weight: 1 for V(D, G), ½ for the real = 0 convention."""
        return 1.0 if self.real_label == 1 else 0.5


def arms_1d() -> list[Arm]:
    """p_data = mixture1d (½N(−2, ½²) + ½N(2, ½²)) against: itself, shifted by ½ (one std) and by
    1, the mode at −2 dropped, every std doubled; and the shifted pair with real label 0."""
    p = make_target("mixture1d")
    return [
        Arm("identical 1-D", p, mixture_1d()),
        Arm("shifted 1-D", p, shifted(p, (0.5,))),
        Arm("shifted by 1 1-D", p, shifted(p, (1.0,))),
        Arm("mode-dropped 1-D", p, drop_modes(p, (0,))),
        Arm("widened 1-D", p, widened(p, 2.0)),
        Arm("shifted 1-D, real label 0", p, shifted(p, (0.5,)), real_label=0),
    ]


def arms_2d() -> list[Arm]:
    """p_data = ring8 with std 0.2 against: shifted by (0.2, 0) (one std), modes 0 and 4 dropped,
    every std doubled."""
    p = make_target("ring8", std=0.2)
    return [
        Arm("shifted 2-D", p, shifted(p, (0.2, 0.0))),
        Arm("mode-dropped 2-D", p, drop_modes(p, (0, 4))),
        Arm("widened 2-D", p, widened(p, 2.0)),
    ]


# -- training ------------------------------------------------------------------------------------------
Recorder = Callable[[int, Trainer], None]


def train_arms(arms: Sequence[Arm], s: Settings, seed: int, *, width: int | None = None,
               record: Recorder | None = None) -> Trainer:
    """D trained alone on every arm × seed in one batched run (Adam on E softplus(−l(x)) +
    E softplus(l(y)), x from the arm's real side, y from its fake side): member k·S + j is arm k,
    seed j; the last ``s.decay_steps`` at lr/10 (a step learning-rate schedule, ``common.lr_decay``).
    ``record(step, trainer)`` is called at the steps of ``s.history`` and after the last."""
    real = [a.sides[0] for a in arms for _ in range(s.seeds)]
    fake = [a.sides[1] for a in arms for _ in range(s.seeds)]
    cfg = TrainConfig(
        target="mixture", target_kwargs=mixture_kwargs(arms[0].p_data),  # members' own sides: the families
        method=MethodConfig(lr_d=s.lr, batch_size=s.batch, **lr_decay(s.steps, s.decay_steps)),
        discriminator=MLPSpec(width=width or s.width, depth=s.depth),
        seeds=member_seeds(seed, len(real)), steps=s.steps, evaluators=(), final_evaluators=(),
    )
    t = Trainer(cfg, Runtime(progress=False), source=MixtureFamily(real), fake_source=MixtureFamily(fake))
    for step in range(s.steps):
        if record is not None and step in s.history:
            record(step, t)
        t.train_step()
    if record is not None:
        record(s.steps, t)
    return t


# -- evaluation ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Residual:
    """|D − D*| of one member: ∫ |D − D*| (p + q)/2 by Monte Carlo with its standard error, and
    its largest value over the supports."""

    l1: float
    se: float
    max: float


def residual(d: torch.Tensor, d_star: torch.Tensor, on_p: int, bulk: torch.Tensor) -> Residual:
    """From D and D* at n points of p followed by n of q (``on_p`` = n): ½(mean_p |D − D*| +
    mean_q |D − D*|), standard error ½√(se_p² + se_q²), and the largest gap over the points in
    ``bulk`` (a mask)."""
    gap = (d - d_star).abs()
    a, b = gap[:on_p], gap[on_p:]
    se = 0.5 * math.hypot(float(a.std()) / math.sqrt(a.numel()), float(b.std()) / math.sqrt(b.numel()))
    return Residual(0.5 * float(a.mean() + b.mean()), se, float(gap[bulk].max()))


@dataclass(frozen=True)
class ResidualPoints:
    """n fresh samples of p_data followed by n of p_g, the theory's D* there (in the arm's
    convention: ``make_optimal_discriminator(p_data, p_g, real_label=...)``) and the mask of the
    supports' bulk."""

    x: torch.Tensor
    d_star: torch.Tensor
    bulk: torch.Tensor
    n: int


def residual_points(arm: Arm, n: int, seed: int, tag: str) -> ResidualPoints:
    p, q = arm.p_data, arm.p_g
    x = torch.cat([fresh(p, n, seed, "residual", tag), fresh(q, n, seed, "residual", tag, "g")])
    d_star = make_optimal_discriminator(p, q, real_label=arm.real_label)(x)
    log_m = torch.logaddexp(p.log_prob(x), q.log_prob(x))
    return ResidualPoints(x, d_star, log_m >= log_m.max() + math.log(BULK), n)


def arm_residuals(t: Trainer, arms: Sequence[Arm], per_arm: int, n: int, seed: int, tag: str) -> list[list[Residual]]:
    """``residual`` of every member (arm k: members k·per_arm …) on n fresh samples of each of its
    arm's p_data and p_g, one network call for all members (each on its own arm's points)."""
    points = [residual_points(a, n, seed, f"{tag}/{a.name}") for a in arms]
    x = torch.stack([pt.x for pt in points for _ in range(per_arm)])
    d = torch.sigmoid(t.d_logits(x).to(torch.float64))
    return [[residual(d[k * per_arm + j], pt.d_star, n, pt.bulk) for j in range(per_arm)]
            for k, pt in enumerate(points)]


def arm_values(logits: SharedLogits, arm: Arm, members: Sequence[int], n: int, seed: int) -> list[Estimate]:
    """The arm's objective for each member by Monte Carlo (``value_function`` on n fresh samples
    of each side): V(D, G) for real label 1; ½[E_{p_data} log(1 − D) + E_{p_g} log D] for 0."""
    real, fake = arm.sides
    eval_seed = derive_seed(seed, "value", arm.name)
    out = []
    for i in members:
        v = value_function(logits.member(i), real, fake, method="monte_carlo", n=n, seed=eval_seed)
        out.append(Estimate(arm.weight * v.value, arm.weight * v.error, v.method))
    return out


@dataclass
class ArmResult:
    """One arm: exact C(G) and JSD; per seed the learned objective, the residual and its history."""

    arm: Arm
    criterion: Estimate  # C(G) by quadrature (direct, from D*)
    jsd: Estimate
    values: list[Estimate] = field(default_factory=list)
    residuals: list[Residual] = field(default_factory=list)
    history: dict[int, list[float]] = field(default_factory=dict)  # step → L1 per seed
    curve: dict[str, list] = field(default_factory=dict)  # 1-D: x, D* and D per seed on a grid


@dataclass
class DiscriminatorResult:
    settings: Settings
    arms: dict[str, ArmResult]
    widths: dict[int, list[Residual]]  # width → residual per seed on WIDTH_ARM (long budget)


def _curve(logits: SharedLogits, arm: Arm, members: Sequence[int]) -> dict[str, list]:
    x = torch.linspace(-5.0, 6.0, 441, dtype=torch.float64)[:, None]
    d = torch.sigmoid(logits(x))
    d_star = make_optimal_discriminator(arm.p_data, arm.p_g, real_label=arm.real_label)(x)
    return {"x": x[:, 0].tolist(), "d_star": d_star.tolist(), "d": [d[i].tolist() for i in members]}


def run_arms(arms: Sequence[Arm], s: Settings, seed: int, *, width: int | None = None,
             history: bool = True) -> dict[str, ArmResult]:
    """Train the arms in one run and evaluate every member on fresh samples."""
    results = {a.name: ArmResult(a, virtual_criterion(a.p_data, a.p_g), jensen_shannon(a.p_data, a.p_g)) for a in arms}

    def members(k: int) -> range:
        return range(k * s.seeds, (k + 1) * s.seeds)

    def record(step: int, t: Trainer) -> None:
        for a, rows in zip(arms, arm_residuals(t, arms, s.seeds, s.history_samples, seed, "history")):
            results[a.name].history[step] = [r.l1 for r in rows]

    t = train_arms(arms, s, seed, width=width, record=record if history else None)
    logits = SharedLogits(t)
    for k, (a, rows) in enumerate(zip(arms, arm_residuals(t, arms, s.seeds, s.eval_samples, seed, "final"))):
        r = results[a.name]
        r.residuals = rows
        r.values = arm_values(logits, a, members(k), s.eval_samples, seed)
        if a.p_data.dim == 1:
            r.curve = _curve(logits, a, members(k))
    return results


def width_sweep(s: Settings, seed: int) -> dict[int, list[Residual]]:
    """The final residual on WIDTH_ARM for every width of ``s.widths`` (one run each)."""
    (arm,) = [a for a in arms_1d() if a.name == WIDTH_ARM]
    return {w: run_arms([arm], s, derive_seed(seed, "width", w) % 2**31, width=w, history=False)[arm.name].residuals
            for w in s.widths}


@functools.lru_cache(maxsize=4)
def discriminator_experiment(seed: int = 0, budget: str = "short") -> DiscriminatorResult:
    """Items 1 and 3: D trained alone on the 1-D and 2-D arms (and, in the long budget, the width
    sweep). Cached: the claims of both items read one run."""
    s = pick(SETTINGS, budget)
    arms = run_arms(arms_1d(), s, seed)
    arms.update(run_arms(arms_2d(), s, derive_seed(seed, "2-D") % 2**31))
    return DiscriminatorResult(s, arms, width_sweep(s, seed))
