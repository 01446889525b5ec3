"""Kantorovich–Rubinstein duality happening: W1(P, Q) = sup_{‖f‖_L ≤ 1} E_P f − E_Q f, estimated by
WGAN critics trained alone against a fixed, known Q (``critics``):

* gradient penalty (λ = 10): on a 1-D pair the maximiser's estimate is known exactly,
  W1 + (1/2λ) ∫ h²/ρ (``gp_optimal_estimate_1d``); on a 2-D translation (W1 = |v| exactly) the
  estimate is W1 up to the penalty's bias (not known in closed form in 2-D);
* weight clipping (RMSProp 5e-5, Arjovsky et al.'s settings): the estimate is W1 times a Lipschitz
  constant K(c) set by the clip value c, the same for two translations of one distribution, and
  never above Lip(f)·W1 (KR: E_P f − E_Q f ≤ Lip(f)·W1 for every f), Lip(f) bounded by the
  product of the critic's weight matrices' spectral norms (ReLU is 1-Lipschitz).

In 1-D the penalty (|f′| − 1)² is a double well in the slope: a critic whose slope starts with
the wrong sign where F_p ≠ F_q can stay there (estimate ≈ −W1); the long budget shows it on a
translation. The mode-dropped pair's estimate (W1 = 2: half the mass moves from −2 to 2) is the
one the claims use.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from ..theory.targets import GaussianMixture, make_target
from ..training.methods import MethodConfig
from ..theory.pairs import drop_modes, shifted
from .common import pick, widened
from .critics import critic_estimates, gp_optimal_estimate_1d, mixture_points, train_critics


@dataclass(frozen=True)
class Settings:
    seeds: int
    gp_steps: int
    clip_steps: int
    clips: tuple[float, ...]
    eval_samples: int
    pairs_1d: tuple[str, ...]  # keys of PAIRS_1D
    shifts_2d: tuple[float, ...]
    lam: float = 10.0
    decay_steps: int = 200


SETTINGS = {
    "short": Settings(seeds=4, gp_steps=800, clip_steps=800, clips=(0.01, 0.1), eval_samples=20_000,
                      pairs_1d=("mode-dropped 1-D",), shifts_2d=(0.4,)),
    "long": Settings(seeds=6, gp_steps=2000, clip_steps=2000, clips=(0.003, 0.01, 0.03, 0.1, 0.3),
                     eval_samples=50_000, pairs_1d=("mode-dropped 1-D", "shifted 1-D", "widened 1-D"),
                     shifts_2d=(0.2, 0.4), decay_steps=500),
}
CLIP_SHIFTS = (0.2, 0.4)  # two translations of ring8 (std 0.2) along x: W1 = 0.2 and 0.4


def pairs_1d() -> dict[str, tuple[GaussianMixture, GaussianMixture]]:
    p = make_target("mixture1d")
    return {"mode-dropped 1-D": (p, drop_modes(p, (0,))), "shifted 1-D": (p, shifted(p, (0.5,))),
            "widened 1-D": (p, widened(p, 2.0))}


def ring() -> GaussianMixture:
    return make_target("ring8", std=0.2)


def gp_method(s: Settings) -> MethodConfig:
    """Gradient penalty λ, Adam 1e-3, β = (0.5, 0.9), batch 256, one critic update per step."""
    return MethodConfig(loss="wasserstein", generator_loss="wasserstein", gp_lambda=s.lam, lr_d=1e-3,
                        betas=(0.5, 0.9), batch_size=256)


def clip_method(clip: float) -> MethodConfig:
    """Weight clipping, RMSProp 5e-5 (Arjovsky et al.), batch 256, one critic update per step."""
    return MethodConfig(loss="wasserstein", generator_loss="wasserstein", clip=clip, optimizer="rmsprop",
                        lr_d=5e-5, batch_size=256)


@dataclass
class PairEstimates:
    name: str
    w1: float  # exact
    predicted: float  # the GP optimum's estimate where known (1-D), else W1
    bias: float  # predicted − W1
    estimates: list[tuple[float, float]] = field(default_factory=list)  # per seed (estimate, se)


@dataclass
class ClipEstimates:
    clip: float
    shift: float
    estimates: list[tuple[float, float]] = field(default_factory=list)
    lipschitz: list[float] = field(default_factory=list)  # ∏ ‖W_l‖₂ per seed


@dataclass
class DualityResult:
    settings: Settings
    gp: dict[str, PairEstimates]
    clip: list[ClipEstimates]


def _gp_1d(s: Settings, seed: int) -> dict[str, PairEstimates]:
    pairs = {k: pairs_1d()[k] for k in s.pairs_1d}
    p = next(iter(pairs.values()))[0]
    fakes = [q for _, q in pairs.values() for _ in range(s.seeds)]
    t = train_critics(p, fakes, gp_method(s), steps=s.gp_steps, seed=seed, decay_steps=s.decay_steps)
    est = critic_estimates(t, *mixture_points(p, fakes, s.eval_samples, seed, "gp-1d"))
    out = {}
    for k, (name, (_, q)) in enumerate(pairs.items()):
        w1, bias, _ = gp_optimal_estimate_1d(p, q, s.lam)
        out[name] = PairEstimates(name, w1, w1 + bias, bias, est[k * s.seeds:(k + 1) * s.seeds])
    return out


def _gp_2d(s: Settings, seed: int) -> dict[str, PairEstimates]:
    p = ring()
    fakes = [shifted(p, (v, 0.0)) for v in s.shifts_2d for _ in range(s.seeds)]
    t = train_critics(p, fakes, gp_method(s), steps=s.gp_steps, seed=seed + 1, decay_steps=s.decay_steps)
    est = critic_estimates(t, *mixture_points(p, fakes, s.eval_samples, seed, "gp-2d"))
    return {f"ring8 + ({v}, 0)": PairEstimates(f"ring8 + ({v}, 0)", v, v, math.nan, est[k * s.seeds:(k + 1) * s.seeds])
            for k, v in enumerate(s.shifts_2d)}


def lipschitz_bound(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per member, ∏_l ‖W_l‖₂ over the weight matrices w0, w1, …: a Lipschitz constant of a ReLU
    network (biases do not change it)."""
    weights = [v for k, v in sorted(params.items()) if k.startswith("w")]
    return torch.stack([torch.linalg.matrix_norm(w.detach().to(torch.float64), ord=2) for w in weights]).prod(0)


def _clip(s: Settings, seed: int) -> list[ClipEstimates]:
    p = ring()
    per_point = [shifted(p, (v, 0.0)) for v in CLIP_SHIFTS for _ in range(s.seeds)]
    fakes = per_point * len(s.clips)
    t = train_critics(p, fakes, clip_method(s.clips[0]), steps=s.clip_steps, seed=seed + 2,
                      grid={"clip": s.clips})
    est = critic_estimates(t, *mixture_points(p, fakes, s.eval_samples, seed, "clip"))
    lip = lipschitz_bound(t.params_d).tolist()
    out = []
    for i, c in enumerate(s.clips):
        for j, v in enumerate(CLIP_SHIFTS):
            lo = i * len(per_point) + j * s.seeds
            out.append(ClipEstimates(c, v, est[lo:lo + s.seeds], lip[lo:lo + s.seeds]))
    return out


@functools.lru_cache(maxsize=4)
def duality_experiment(seed: int = 0, budget: str = "short") -> DualityResult:
    """Item 5: gradient-penalty critics on the 1-D pairs and the 2-D translations, clipped critics
    on two translations for every clip value (one batched run each)."""
    s = pick(SETTINGS, budget)
    gp = _gp_1d(s, seed)
    gp.update(_gp_2d(s, seed))
    return DualityResult(s, gp, _clip(s, seed))
