"""The training engine: N independent GANs (one per seed) trained as one batched computation.

Member i owns a ``torch.Generator`` seeded with seeds[i]; every random number it uses (weights,
data, noise, gradient-penalty interpolation) comes from that generator, drawn outside any batched
op, so member i follows the same arithmetic as a run with N = 1 and seed i. Evaluation draws from
generators derived from (seed, step), so evaluating never shifts the training stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import TrainConfig
from .losses import LOSSES, gradient_penalty
from .methods import OPTIMIZERS, UNROLLED_STEPS, unrolled_state
from ..models.mlp import MLP, Params
from ..theory.targets import make_target


def derived_generator(seed: int, *tags: int | str, device: str = "cpu") -> torch.Generator:
    """A generator for (seed, tags) independent of every other stream (numpy SeedSequence)."""
    words = [seed] + [t if isinstance(t, int) else int.from_bytes(t.encode(), "little") for t in tags]
    state = np.random.SeedSequence(words).generate_state(2, dtype=np.uint32)
    return torch.Generator(device=device).manual_seed(int(state[0]) << 32 | int(state[1]))


@dataclass
class Divergence:
    """A member whose loss became NaN or inf: it is frozen at its last finite evaluated weights."""

    member: int
    seed: int
    step: int
    d_loss: float
    g_loss: float
    hyper: dict[str, float] = field(default_factory=dict)

    def message(self) -> str:
        where = f"seed {self.seed}" + "".join(f", {k}={v:g}" for k, v in self.hyper.items())
        return (
            f"member {self.member} ({where}) diverged at step {self.step}: "
            f"d_loss={self.d_loss}, g_loss={self.g_loss}; frozen at its last evaluated weights, "
            f"the other members go on"
        )


@dataclass
class StepLosses:
    d_loss: torch.Tensor
    g_loss: torch.Tensor


@dataclass
class _Running:
    """Sums of each member's finite losses since the last evaluation, and how many."""

    d_sum: torch.Tensor
    g_sum: torch.Tensor
    count: torch.Tensor


class Trainer:
    """Holds the batched state of a run and advances it one generator step at a time."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.target = make_target(cfg.target, **cfg.target_kwargs)
        self.dtype = getattr(torch, cfg.dtype)
        self.device = torch.device(cfg.device)
        m = cfg.method
        self.G = MLP(cfg.generator, cfg.noise_dim, self.target.dim)
        self.D = MLP(cfg.discriminator, self.target.dim * m.pack, 1)
        self.members = cfg.members()
        self.seeds = [mb.seed for mb in self.members]
        self.n = len(self.members)
        self.hyper = {k: torch.tensor([mb.hyper[k] for mb in self.members], dtype=torch.float64) for k in cfg.grid}
        self.gens = [torch.Generator().manual_seed(s) for s in self.seeds]
        self.params_g = self._leaves(self.G.init_params(self.gens, self.dtype))
        self.params_d = self._leaves(self.D.init_params(self.gens, self.dtype))
        self.datasets = self._draw_datasets()
        self.opt_g = OPTIMIZERS[m.optimizer](list(self.params_g.values()), self.hyperparameter("lr_g"), m)
        self.opt_d = OPTIMIZERS[m.optimizer](list(self.params_d.values()), self.hyperparameter("lr_d"), m)
        self.step = 0
        self.batches_drawn = 0
        self.alive = torch.ones(self.n, dtype=torch.bool)
        self.divergences: list[Divergence] = []
        self.history: list[dict[str, Any]] = []
        self.snapshot = self._copy_params()
        self.running = self._fresh_running()
        self._epoch_cache: tuple[int, torch.Tensor] | None = None

    # -- state -------------------------------------------------------------------------------
    def hyperparameter(self, name: str):
        """The method's value, or a tensor [N] of per-member values when the grid varies it."""
        return self.hyper[name] if name in self.hyper else getattr(self.cfg.method, name)

    def _per_member_view(self, name: str, like: torch.Tensor):
        """A hyperparameter shaped to broadcast over a batched tensor's member dimension."""
        v = self.hyperparameter(name)
        if isinstance(v, torch.Tensor):
            return v.to(like.device, like.dtype).view(-1, *[1] * (like.ndim - 1))
        return v

    def _leaves(self, params: Params) -> Params:
        return {k: v.to(self.device).requires_grad_(True) for k, v in params.items()}

    def _copy_params(self) -> dict[str, Params]:
        return {
            "g": {k: v.detach().clone() for k, v in self.params_g.items()},
            "d": {k: v.detach().clone() for k, v in self.params_d.items()},
        }

    def _fresh_running(self) -> _Running:
        z = torch.zeros(self.n, dtype=torch.float64)
        return _Running(z.clone(), z.clone(), z.clone())

    # -- randomness, per member --------------------------------------------------------------
    def _per_member(self, draw, gens: list[torch.Generator] | None = None) -> torch.Tensor:
        """Stack draw(generator_i) over members (outside any batched op: see module docstring);
        the training generators unless ``gens`` are given."""
        return torch.stack([draw(g) for g in gens or self.gens]).to(self.device, self.dtype)

    def _draw_datasets(self) -> torch.Tensor | None:
        size = self.cfg.dataset_size
        if size is None:
            return None
        return torch.stack([self.target.sample(size, g, dtype=torch.float64) for g in self.gens])

    def _noise_rows(self, g: torch.Generator, n: int) -> torch.Tensor:
        """n rows of z ~ N(0, I) or U[−1, 1]^d, drawn in float64 so both dtypes see the same z."""
        zd = self.cfg.noise_dim
        if self.cfg.noise == "normal":
            return torch.randn(n, zd, generator=g, dtype=torch.float64)
        return 2 * torch.rand(n, zd, generator=g, dtype=torch.float64) - 1

    def noise(self, n: int, gens: list[torch.Generator] | None = None) -> torch.Tensor:
        return self._per_member(lambda g: self._noise_rows(g, n), gens)

    def real(self, n: int) -> torch.Tensor:
        """n target samples per member [N, n, d]: fresh, or the next slice of a shuffled epoch."""
        if self.datasets is None:
            return self._per_member(lambda g: self.target.sample(n, g, dtype=torch.float64))
        size = self.datasets.shape[1]
        per_epoch = size // n
        epoch, pos = divmod(self.batches_drawn, per_epoch)
        self.batches_drawn += 1
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            perms = torch.stack(
                [torch.randperm(size, generator=derived_generator(s, "epoch", epoch)) for s in self.seeds]
            )
            self._epoch_cache = (epoch, perms)
        idx = self._epoch_cache[1][:, pos * n : (pos + 1) * n]
        return torch.gather(self.datasets, 1, idx[..., None].expand(-1, -1, self.target.dim)).to(
            self.device, self.dtype
        )

    # -- the maths of one step ---------------------------------------------------------------
    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """[N, m·B, d] → [N, B, m·d]: slot j of pack b is row j·B + b, so each slot is one of m
        separately generated batches concatenated along features (PacGAN's packing)."""
        n, mb, d = x.shape
        m = self.cfg.method.pack
        return x.view(n, m, mb // m, d).transpose(1, 2).reshape(n, mb // m, m * d)

    def discriminate(self, params_d: Params, x: torch.Tensor) -> torch.Tensor:
        """D on packs: x [N, m·B, d] → logits [N, B, 1]."""
        return self.D(params_d, self.pack(x))

    def generate_batch(self, z: torch.Tensor) -> torch.Tensor:
        """G on m·B noise rows, batch-norm statistics per pack slot."""
        return self.G(self.params_g, z, groups=self.cfg.method.pack)

    def d_loss(self, params_d: Params, real: torch.Tensor, fake: torch.Tensor, alpha=None) -> torch.Tensor:
        m = self.cfg.method
        real_p, fake_p = self.pack(real), self.pack(fake)
        if self.D.spec.batch_norm:  # statistics of each batch apart, as two separate calls
            real_logits, fake_logits = self.D(params_d, real_p), self.D(params_d, fake_p)
        else:  # rows are independent: one call on both batches makes larger, faster matmuls
            real_logits, fake_logits = self.D(params_d, torch.cat([real_p, fake_p], dim=1)).split(
                [real_p.shape[1], fake_p.shape[1]], dim=1)
        loss = LOSSES[m.loss].discriminator(real_logits, fake_logits)
        if self.uses_gradient_penalty:
            gp = gradient_penalty(lambda x: self.D(params_d, x), real_p, fake_p, alpha)
            loss = loss + self._per_member_view("gp_lambda", gp) * gp
        return loss

    @property
    def uses_gradient_penalty(self) -> bool:
        return "gp_lambda" in self.hyper or self.cfg.method.gp_lambda > 0

    def g_loss(self, params_d: Params, fake: torch.Tensor) -> torch.Tensor:
        m = self.cfg.method
        return LOSSES[m.loss].generator[m.generator_loss](self.discriminate(params_d, fake))

    def unrolled_discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> Params:
        """θ_D after K updates on (real, fake), each a function of θ_G through ``fake`` (Metz et
        al. 2017, eq. 5–7); "first" order cuts that dependence and keeps only the values."""
        m = self.cfg.method
        if m.unroll == 0:
            return self.params_d
        update = UNROLLED_STEPS[m.optimizer]
        params = dict(self.params_d)
        states = {k: unrolled_state(self.opt_d, v, m.optimizer) for k, v in self.params_d.items()}
        second = m.unroll_order == "second"
        for _ in range(m.unroll):
            loss = self.d_loss(params, real, fake if second else fake.detach())
            grads = torch.autograd.grad(loss.sum(), list(params.values()), create_graph=second)
            for (k, p), g in zip(list(params.items()), grads):
                params[k], states[k] = update(p, g, states[k], self._per_member_view("lr_d", p), m)
        return params if second else {k: v.detach() for k, v in params.items()}

    def _apply(self, opt: torch.optim.Optimizer, params: Params, grads) -> None:
        dead = ~self.alive
        for p, g in zip(params.values(), grads):
            if dead.any():
                g = g.masked_fill(dead.view(-1, *[1] * (g.ndim - 1)).to(g.device), 0.0)
            p.grad = g
        opt.step()

    def train_step(self) -> StepLosses:
        """One generator update after method.d_steps discriminator updates."""
        m = self.cfg.method
        batch = m.batch_size * m.pack
        pending = None
        for k in range(m.d_steps):
            real, z = self.real(batch), self.noise(batch)
            alpha = self._per_member(lambda g: torch.rand(m.batch_size, generator=g, dtype=torch.float64)) \
                if self.uses_gradient_penalty else None
            with torch.no_grad():
                fake = self.generate_batch(z)
            d_loss = self.d_loss(self.params_d, real, fake, alpha)
            grads = torch.autograd.grad(d_loss.sum(), list(self.params_d.values()))
            if m.simultaneous and k == m.d_steps - 1:
                pending = grads  # applied after G's gradient is taken at the same θ_D
            else:
                self._apply(self.opt_d, self.params_d, grads)
                self._clip()
        z_g = z if m.simultaneous else self.noise(batch)
        fake = self.generate_batch(z_g)
        params_d = self.unrolled_discriminator(real, fake)  # K = 0: θ_D itself
        g_loss = self.g_loss(params_d, fake)
        g_grads = torch.autograd.grad(g_loss.sum(), list(self.params_g.values()))
        if pending is not None:
            self._apply(self.opt_d, self.params_d, pending)
            self._clip()
        self._apply(self.opt_g, self.params_g, g_grads)
        self.step += 1
        losses = StepLosses(d_loss.detach(), g_loss.detach())
        self._check_finite(losses)
        return losses

    def _clip(self) -> None:
        if self.hyperparameter("clip") is None:
            return
        with torch.no_grad():
            for p in self.params_d.values():
                c = self._per_member_view("clip", p)
                p.clamp_(-c, c)

    # -- divergence --------------------------------------------------------------------------
    def _check_finite(self, losses: StepLosses) -> None:
        finite = (torch.isfinite(losses.d_loss) & torch.isfinite(losses.g_loss)).cpu()
        newly = (~finite) & self.alive
        r = self.running
        ok = (finite & self.alive).to(r.d_sum.device)
        r.d_sum += torch.where(ok, losses.d_loss.double().cpu(), 0.0)
        r.g_sum += torch.where(ok, losses.g_loss.double().cpu(), 0.0)
        r.count += ok.double()
        for i in newly.nonzero().flatten().tolist():
            self._freeze(i, float(losses.d_loss[i]), float(losses.g_loss[i]))

    def _freeze(self, i: int, d_loss: float, g_loss: float) -> None:
        """Restore member i's last evaluated weights and zero its optimizer state, so that
        updates (gradients masked to 0) leave it where it was."""
        self.alive[i] = False
        self.divergences.append(Divergence(i, self.seeds[i], self.step, d_loss, g_loss, self.members[i].hyper))
        with torch.no_grad():
            for params, snap, opt in ((self.params_g, self.snapshot["g"], self.opt_g),
                                      (self.params_d, self.snapshot["d"], self.opt_d)):
                for k, p in params.items():
                    p[i] = snap[k][i]
                    for v in opt.state.get(p, {}).values():
                        if isinstance(v, torch.Tensor) and v.ndim == p.ndim:
                            v[i] = 0

    # -- evaluation --------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, n: int, tag: str = "eval") -> torch.Tensor:
        """n samples per member [N, n, d] from noise derived from (seed, tag, step)."""
        z = self.noise(n, [derived_generator(s, tag, self.step) for s in self.seeds])
        return self.G(self.params_g, z).float().cpu()

    def evaluate(self) -> list[dict[str, Any]]:
        """Mode metrics of every member now; appends the rows to ``history`` and refreshes the
        snapshot a diverging member falls back to."""
        from ..metrics.modes import mode_metrics

        samples = self.generate(self.cfg.eval_samples)
        finite = torch.isfinite(samples).flatten(1).all(dim=1)
        for i in ((~finite) & self.alive).nonzero().flatten().tolist():
            self._freeze(i, math.nan, math.nan)
        r = self.running
        rows = []
        for i, (seed, member) in enumerate(zip(self.seeds, self.members)):
            row: dict[str, Any] = {"step": self.step, "member": i, "seed": seed, **member.hyper,
                                   "alive": bool(self.alive[i])}
            row["d_loss"] = float(r.d_sum[i] / r.count[i]) if r.count[i] else math.nan
            row["g_loss"] = float(r.g_sum[i] / r.count[i]) if r.count[i] else math.nan
            if self.target.has_density and bool(self.alive[i]):
                mm = mode_metrics(samples[i], self.target)
                row.update(
                    modes_captured=mm.modes_captured,
                    high_quality_fraction=mm.high_quality_fraction,
                    reverse_kl=mm.reverse_kl,
                )
            rows.append(row)
        self.history.extend(rows)
        self.running = self._fresh_running()
        with torch.no_grad():
            alive = self.alive.to(self.device)
            for which, params in (("g", self.params_g), ("d", self.params_d)):
                for k, p in params.items():
                    self.snapshot[which][k][alive] = p.detach()[alive]
        return rows

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically; loadable with weights_only=True."""
        return {
            "step": self.step,
            "batches_drawn": self.batches_drawn,
            "params_g": {k: v.detach().cpu() for k, v in self.params_g.items()},
            "params_d": {k: v.detach().cpu() for k, v in self.params_d.items()},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": [g.get_state() for g in self.gens],
            "alive": self.alive.clone(),
            "snapshot": {w: {k: v.cpu() for k, v in s.items()} for w, s in self.snapshot.items()},
            "running": {"d_sum": self.running.d_sum, "g_sum": self.running.g_sum, "count": self.running.count},
            "history": self.history,
            "divergences": [vars(d) for d in self.divergences],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = state["step"]
        self.batches_drawn = state["batches_drawn"]
        with torch.no_grad():
            for mine, saved in ((self.params_g, state["params_g"]), (self.params_d, state["params_d"])):
                for k, v in mine.items():
                    v.copy_(saved[k])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for g, s in zip(self.gens, state["rng"]):
            g.set_state(s)
        self.alive = state["alive"].clone()
        self.snapshot = {w: {k: v.to(self.device) for k, v in s.items()} for w, s in state["snapshot"].items()}
        run = state["running"]
        self.running = _Running(run["d_sum"].clone(), run["g_sum"].clone(), run["count"].clone())
        self.history = list(state["history"])
        self.divergences = [Divergence(**d) for d in state["divergences"]]
