"""The training engine: N independent GANs (the members: seeds × grid points) as one batched
computation, assembled from registered parts — a batched model for G and for D
(``ganlab.models``), a data source (``ganlab.data.sources``), a loss family (``losses``), an update
schedule (``schedules``), regularisers (``regularisers``), an optimizer (``optim``) and evaluators
(``evaluators``).

Member i's numbers depend on its seed and its hyperparameters alone: every random number comes
from counter-based streams keyed by (seed, purpose, step, sub) (``ganlab.rng``), models and
optimizers never mix members, and per-member hyperparameters are tensors [N]. On CPU in float32
and float64 a member is bit-identical to a run of that member alone, for any N
(``tests/training/test_engine.py``).

A training step makes no device→host copy: losses, the divergence mask and the running loss sums
stay on the device, and the host looks at them only at evaluation time. A member whose loss turns
NaN or inf is masked out at once (its loss weighs 0 in the gradient); at the next evaluation it is
reported and put back to its weights at the previous evaluation with a zeroed optimizer state,
where its zero gradients keep it.
"""

from __future__ import annotations

import contextlib
import math
import types
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data.sources import TargetSource, make_source
from ..models import Params, build_model
from ..rng import Streams
from ..theory.targets import TARGETS, make_target
from .config import Runtime, TrainConfig
from .evaluators import EvalContext, run_evaluators
from .losses import LOSSES
from .lr_schedules import from_method
from .methods import grid_fields
from .optim import OPTIMIZERS, BatchedOptimizer
from .regularisers import active_regularisers
from .schedules import SCHEDULES, draws_per_step


GENERATE_CHUNK = 2500  # rows per generator call when sampling for evaluation


@dataclass
class Divergence:
    """A member whose loss became NaN or inf; frozen at its weights of the evaluation before."""

    member: int
    seed: int
    step: int
    d_loss: float
    g_loss: float
    hyper: dict[str, float] = field(default_factory=dict)

    def message(self) -> str:
        where = f"seed {self.seed}" + "".join(f", {k}={v:g}" for k, v in self.hyper.items())
        return (f"member {self.member} ({where}) diverged at step {self.step}: d_loss={self.d_loss}, "
                f"g_loss={self.g_loss}; frozen at its weights of the previous evaluation, the others go on")


class Trainer:
    """Holds the batched state of a run and advances it one step at a time."""

    def __init__(self, cfg: TrainConfig, runtime: Runtime | None = None, *, source: Any = None,
                 fake_source: Any = None, members: list[int] | None = None):
        """``members``: the indices (into ``cfg.members()``) this trainer holds — all by default;
        a process of a multi-process run holds its share (``runs.Comm``). ``fake_source``: a data
        source that stands in for G as ``cfg.fixed_generator`` does (which it overrides), e.g. a
        different known p_g per member; G is then not built."""
        self.cfg, self.rt = cfg, runtime or Runtime()
        self.device = torch.device(self.rt.device)
        self.dtype = self.rt.param_dtype
        m = cfg.method
        everyone = cfg.members()
        self.member_index = list(range(len(everyone))) if members is None else list(members)
        self.members = [everyone[i] for i in self.member_index]
        self.seeds = [mb.seed for mb in self.members]
        self.n = len(self.members)
        self.streams = Streams(self.seeds, self.device, compiled=self.rt.compile)
        self.target = make_target(cfg.target, **cfg.target_kwargs) if cfg.target in TARGETS else None
        self.source = source if source is not None else self._make_source()
        self.source.draws_per_step = draws_per_step(m)
        self.source.prepare(self.streams, self.device)
        shape = tuple(self.source.shape)
        self.classes = cfg.classes
        if self.classes and self.source.classes != self.classes:
            raise ValueError(f"classes={self.classes}, but the data has {self.source.classes} class labels")
        self._uniform_classes = torch.arange(1, self.classes + 1, dtype=torch.float64, device=self.device) / max(self.classes, 1)
        self.fake_source = fake_source
        if fake_source is None and cfg.fixed_generator is not None:
            self.fake_source = TargetSource(make_target(cfg.fixed_generator, **cfg.fixed_generator_kwargs))
        if self.fake_source is not None:
            self.fake_source.prepare(self.streams, self.device)
            self.G = None
        else:
            self.G = build_model(cfg.generator, (cfg.noise_dim,), shape, self.classes)
        self.D = build_model(cfg.discriminator, (shape[0] * m.pack, *shape[1:]), (1,), self.classes)
        self.hyper = self._hyperparameters()
        self.params_g = self._leaves(self.G.init(self.seeds, "g", self.dtype, self.device)) if self.G else {}
        self.params_d = self._leaves(self.D.init(self.seeds, "d", self.dtype, self.device))
        opt = OPTIMIZERS[m.optimizer]
        kw = dict(betas=m.betas, eps=m.eps, rmsprop_alpha=m.rmsprop_alpha)
        self.opt_d: BatchedOptimizer = opt(list(self.params_d.values()), self.hyper["lr_d"], **kw)
        self.opt_g: BatchedOptimizer | None = (
            opt(list(self.params_g.values()), self.hyper["lr_g"], **kw) if self.G else None)
        self.lr_schedule = from_method(m)
        self.regularisers = active_regularisers(m, cfg.grid)
        self.schedule = SCHEDULES[m.schedule]
        self._forward_g = self.G.__call__ if self.G else None
        self._forward_d = self.D.__call__
        if self.rt.compile:
            self._forward_d = _compile_call(self.D)
            self._forward_g = _compile_call(self.G) if self.G else None
        self.step = 0
        self.alive = torch.ones(self.n, dtype=torch.bool, device=self.device)
        self.diverged_at = torch.full((self.n,), -1, dtype=torch.int64, device=self.device)
        self.diverged_losses = torch.full((self.n, 2), math.nan, dtype=torch.float64, device=self.device)
        self.running = torch.zeros(3, self.n, dtype=torch.float64, device=self.device)  # d sum, g sum, count
        self.snapshot = self._copy_params()
        self.divergences: list[Divergence] = []

    def _make_source(self):
        from ..data.images import DATASETS

        if self.target is not None:
            return make_source(self.target, self.cfg.dataset_size)
        return DATASETS[self.cfg.target].build(self.rt.data_dir)

    # -- state ---------------------------------------------------------------------------------
    def _hyperparameters(self) -> dict[str, torch.Tensor]:
        """Every grid-able method field as a tensor [N] on the device (constant where not gridded)."""
        out = {}
        for name in grid_fields():
            values = [getattr(self.cfg.member_method(mb), name) for mb in self.members]
            if all(v is not None for v in values):
                out[name] = torch.tensor(values, dtype=torch.float64, device=self.device)
        return out

    def _leaves(self, params: Params) -> Params:
        return {k: v.requires_grad_(True) for k, v in params.items()}

    def _copy_params(self) -> dict[str, Params]:
        return {"g": {k: v.detach().clone() for k, v in self.params_g.items()},
                "d": {k: v.detach().clone() for k, v in self.params_d.items()}}

    @property
    def trains_generator(self) -> bool:
        return self.G is not None

    @property
    def batch_rows(self) -> int:
        """Rows of one minibatch: batch_size packs of m samples."""
        m = self.cfg.method
        return m.batch_size * m.pack

    def autocast(self):
        dt = self.rt.autocast_dtype
        return torch.autocast(self.device.type, dtype=dt) if dt is not None else contextlib.nullcontext()

    # -- random inputs ---------------------------------------------------------------------------
    def noise(self, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        """z [N, n, noise_dim]: N(0, I) or U[−1, 1]^d from stream (purpose, step, sub)."""
        shape = (n, self.cfg.noise_dim)
        if self.cfg.noise == "normal":
            return self.streams.normal(purpose, step, sub, shape, self.dtype)
        return 2 * self.streams.uniform(purpose, step, sub, shape, self.dtype) - 1

    def real(self, step: int, sub: int) -> torch.Tensor:
        """One minibatch of data per member [N, m·B, *shape]."""
        return self.source.batch(self.streams, "data", step, sub, self.batch_rows, self.dtype)

    def real_labels(self, step: int, sub: int) -> torch.Tensor | None:
        """The class labels [N, B] of ``real(step, sub)`` (None when unconditional)."""
        return self.source.labels(self.streams, "data", step, sub, self.batch_rows) if self.classes else None

    def fake_labels(self, step: int, sub: int, n: int | None = None, purpose: str = "labels") -> torch.Tensor | None:
        """Uniform class labels [N, n] that condition the generator (None when unconditional)."""
        if not self.classes:
            return None
        return self.streams.categorical(purpose, step, sub, (n or self.batch_rows,), self._uniform_classes)

    def fake(self, step: int, sub: int, grad: bool = False) -> torch.Tensor:
        """One minibatch of generated samples [N, m·B, *shape] (the fixed p_g's, without a G),
        conditioned on ``fake_labels(step, sub)`` in a conditional run."""
        if self.fake_source is not None:
            return self.fake_source.batch(self.streams, "fake", step, sub, self.batch_rows, self.dtype)
        z = self.noise("noise", step, sub, self.batch_rows)
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            return self.generate_batch(z, self.fake_labels(step, sub))

    def generate_batch(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """G on m·B noise rows, batch-norm statistics per pack slot."""
        with self.autocast():
            return self._forward_g(self.params_g, z, groups=self.cfg.method.pack, labels=labels).to(self.dtype)

    # -- the maths of one step -------------------------------------------------------------------
    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """[N, m·B, C, ...] → [N, B, m·C, ...]: slot j of pack b is row j·B + b, so each slot is one
        of m separately generated batches, concatenated along the first feature axis (PacGAN)."""
        m = self.cfg.method.pack
        n, rows, *shape = x.shape
        return x.view(n, m, rows // m, *shape).transpose(1, 2).reshape(n, rows // m, m * shape[0], *shape[1:])

    def discriminate_packs(self, params_d: Params, packs: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        with self.autocast():
            return self._forward_d(params_d, packs, labels=labels).to(self.dtype)

    def discriminate(self, params_d: Params, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D on packs of x [N, m·B, ...] → logits [N, B, 1] (labels only unpacked: m = 1)."""
        return self.discriminate_packs(params_d, self.pack(x), labels)

    def d_loss(self, params_d: Params, real: torch.Tensor, fake: torch.Tensor, step: int, sub: int) -> torch.Tensor:
        """The discriminator's (critic's) loss [N] plus every active regulariser's penalty; real
        and fake are draw (step, sub), whose labels a conditional run looks up by that address."""
        real_p, fake_p = self.pack(real), self.pack(fake)
        real_y, fake_y = self.real_labels(step, sub), self.fake_labels(step, sub)
        if self.D.batch_norm:  # statistics of each batch apart, as two separate calls
            real_l = self.discriminate_packs(params_d, real_p, real_y)
            fake_l = self.discriminate_packs(params_d, fake_p, fake_y)
        else:  # rows are independent: one call on both batches makes larger, faster matmuls
            both_y = None if real_y is None else torch.cat([real_y, fake_y], dim=1)
            both = self.discriminate_packs(params_d, torch.cat([real_p, fake_p], dim=1), both_y)
            real_l, fake_l = both.split([real_p.shape[1], fake_p.shape[1]], dim=1)
        m = self.cfg.method
        loss = LOSSES[m.loss].discriminator(real_l, fake_l, m)
        for reg in self.regularisers:
            term = reg.penalty(self, params_d, real_p, fake_p, step, sub)
            if term is not None:
                loss = loss + term
        return loss

    def g_loss(self, params_d: Params, fake: torch.Tensor, step: int, sub: int) -> torch.Tensor:
        """The generator's loss [N] on ``fake``, draw (step, sub)."""
        m = self.cfg.method
        return LOSSES[m.loss].generator(m.generator_loss, self.discriminate(params_d, fake, self.fake_labels(step, sub)), m)

    def _gradients(self, loss: torch.Tensor, params: Params) -> list[torch.Tensor]:
        """Gradients of Σ_i alive_i · loss_i: a frozen member gets exactly zero gradients (its own
        loss times 0; finite, since it sits at finite snapshot weights), the others their own."""
        return list(torch.autograd.grad((loss * self.alive).sum(), list(params.values())))

    def d_gradients(self, params_d: Params, real, fake, step: int, sub: int):
        loss = self.d_loss(params_d, real, fake, step, sub)
        return loss.detach(), self._gradients(loss, params_d)

    def g_gradients(self, params_d: Params, fake: torch.Tensor, step: int, sub: int):
        loss = self.g_loss(params_d, fake, step, sub)
        return loss.detach(), self._gradients(loss, self.params_g)

    def update_d(self, grads: list[torch.Tensor]) -> None:
        self.opt_d.step(grads)
        for reg in self.regularisers:
            reg.after_update(self)

    def update_g(self, grads: list[torch.Tensor]) -> None:
        self.opt_g.step(grads)

    def unrolled_discriminator(self, real: torch.Tensor, fake: torch.Tensor, step: int, sub: int) -> Params:
        """θ_D after K updates on (real, fake), each a function of θ_G through ``fake`` (Metz et al.
        2017, eq. 5–7), starting from the optimizer's state; "first" order cuts that dependence."""
        m = self.cfg.method
        if m.unroll == 0:
            return self.params_d
        second = m.unroll_order == "second"
        params = dict(self.params_d)
        states = [self.opt_d.functional_state(i) for i in range(len(params))]
        lr = self.opt_d.current_lr  # this step's rates
        for _ in range(m.unroll):
            loss = self.d_loss(params, real, fake if second else fake.detach(), step, sub)
            grads = torch.autograd.grad(loss.sum(), list(params.values()), create_graph=second)
            for i, ((k, p), g) in enumerate(zip(list(params.items()), grads)):
                params[k], states[i] = self.opt_d.functional_step(p, g, states[i], lr)
        return params if second else {k: v.detach() for k, v in params.items()}

    def train_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One generator update after d_steps discriminator updates (as the schedule orders them);
        returns the losses [N] (on the device). Every update of the step runs at the learning-rate
        schedule's rates of this step (a function of the step alone: a resumed run gets them too)."""
        factor = self.lr_schedule.factor(self.step)
        for opt in (self.opt_d, self.opt_g):
            if opt is not None:
                opt.set_lr_factor(factor)
        d_loss, g_loss = self.schedule(self, self.step)
        self.step += 1
        self._watch(d_loss, g_loss)
        return d_loss, g_loss

    def _watch(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        """Divergence mask and running loss sums, on the device (no host sync)."""
        finite = torch.isfinite(d_loss)
        if self.trains_generator:
            finite &= torch.isfinite(g_loss)
        newly = self.alive & ~finite
        self.diverged_at = torch.where(newly, self.step, self.diverged_at)
        both = torch.stack([d_loss, g_loss], dim=1).to(torch.float64)
        self.diverged_losses = torch.where(newly[:, None], both, self.diverged_losses)
        self.alive = self.alive & finite
        ok = self.alive.to(torch.float64)
        self.running += torch.cat([torch.nan_to_num(both.T) * ok, ok[None]])

    # -- evaluation --------------------------------------------------------------------------------
    @torch.no_grad()
    def d_logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits l (D = σ(l)) of every member at given points: x [n, *shape] (the same points
        for all members) or [N, n, *shape] → [N, n] in the run's dtype. Unpacked, unconditional
        discriminators only (a packed D judges m samples at once)."""
        if self.cfg.method.pack != 1 or self.classes:
            raise ValueError("d_logits needs an unpacked, unconditional discriminator "
                             f"(pack={self.cfg.method.pack}, classes={self.classes})")
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        if x.ndim == len(self.source.shape) + 1:
            x = x.expand(self.n, *x.shape)
        return self.discriminate(self.params_d, x)[..., 0]

    @torch.no_grad()
    def generate(self, n: int, purpose: str = "eval", step: int | None = None,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """n samples per member [N, n, *shape] from stream (purpose, step or the current step); a
        conditional run uses ``labels`` [N, n] or uniform ones from stream (purpose/labels, step)."""
        step = self.step if step is None else step
        if self.fake_source is not None:
            return self.fake_source.batch(self.streams, purpose, step, 0, n, self.dtype)
        if self.classes and labels is None:
            labels = self.fake_labels(step, 0, n, purpose + "/labels")
        z = self.noise(purpose, step, 0, n)
        out = []
        with self.autocast():  # in chunks of rows: memory stays bounded (batch norm: chunk statistics)
            for a in range(0, n, GENERATE_CHUNK):
                y = None if labels is None else labels[:, a:a + GENERATE_CHUNK]
                out.append(self._forward_g(self.params_g, z[:, a:a + GENERATE_CHUNK], labels=y).to(self.dtype))
        return torch.cat(out, dim=1)

    def _freeze_dead(self) -> list[Divergence]:
        """Report members that diverged since the last look, put every dead member back to its
        snapshot and zero its optimizer state (the host's one look at the masks)."""
        alive, at = self.alive.cpu(), self.diverged_at.cpu()
        losses = self.diverged_losses.cpu()
        known = {d.member for d in self.divergences}
        new = [Divergence(self.member_index[i], self.seeds[i], int(at[i]), float(losses[i, 0]), float(losses[i, 1]),
                          dict(self.members[i].hyper))
               for i in range(self.n) if not alive[i] and self.member_index[i] not in known]
        self.divergences += new
        if not alive.all():
            dead = ~self.alive
            with torch.no_grad():
                for which, params in (("g", self.params_g), ("d", self.params_d)):
                    for k, p in params.items():
                        view = dead.view(-1, *[1] * (p.ndim - 1))
                        p.copy_(torch.where(view, self.snapshot[which][k], p))
            for opt in (self.opt_d, self.opt_g):
                if opt is not None:
                    opt.reset_members(dead)
        return new

    def evaluate(self, evaluators: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """One metrics row per member at the current step: mean losses since the last evaluation
        and every evaluator's values. Refreshes the weights a diverging member falls back to and
        resets the running losses."""
        names = self.cfg.evaluators if evaluators is None else evaluators
        self._freeze_dead()
        samples = self.generate(self.cfg.eval_samples)
        self.last_samples = samples
        finite = torch.isfinite(samples.flatten(2)).all(dim=2).all(dim=1)
        bad = self.alive & ~finite  # finite losses but non-finite samples
        self.diverged_at = torch.where(bad, self.step, self.diverged_at)
        self.alive &= finite
        self._freeze_dead()
        alive = self.alive.cpu()
        values = run_evaluators(self._applicable(names), samples, self._context(alive))
        run = self.running.cpu()
        rows = []
        for i, mb in enumerate(self.members):
            row: dict[str, Any] = {"step": self.step, "member": self.member_index[i], "seed": mb.seed, **mb.hyper,
                                   "alive": bool(alive[i])}
            count = float(run[2, i])
            row["d_loss"] = float(run[0, i]) / count if count else math.nan
            row["g_loss"] = float(run[1, i]) / count if count and self.trains_generator else math.nan
            for k, v in values.items():
                row[k] = v[i] if alive[i] else math.nan
            rows.append(row)
        self.running.zero_()
        with torch.no_grad():
            for which, params in (("g", self.params_g), ("d", self.params_d)):
                for k, p in params.items():
                    self.snapshot[which][k].copy_(p)
        return rows

    def _context(self, alive: torch.Tensor) -> EvalContext:
        if not hasattr(self, "_eval_cache"):
            self._eval_cache: dict[str, Any] = {}
        return EvalContext(self.target, self.seeds, alive, self.step, self.source, self._eval_cache)

    def _applicable(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The named evaluators that apply to this run's data (mode metrics need a toy target's
        modes, classifier modes an image data set)."""
        from .evaluators import EVALUATORS

        return tuple(n for n in names if EVALUATORS[n].applies(self.target, self.source))

    def final_samples(self) -> torch.Tensor:
        self._freeze_dead()
        return self.generate(self.cfg.n_final_samples, purpose="final")

    def final_metrics(self, samples: torch.Tensor) -> dict[str, list[float]]:
        names = self._applicable(self.cfg.final_evaluators)
        return run_evaluators(names, samples, self._context(self.alive.cpu()))

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically (random streams are addressed by the step:
        nothing else to save); loadable with ``torch.load(..., weights_only=True)``. Every tensor's
        first dimension is this trainer's members (``runs.merge_states`` joins processes' parts)."""
        return {
            "step": self.step,
            "params_g": {k: v.detach().cpu() for k, v in self.params_g.items()},
            "params_d": {k: v.detach().cpu() for k, v in self.params_d.items()},
            "opt_g": self.opt_g.state_dict() if self.opt_g else None,
            "opt_d": self.opt_d.state_dict(),
            "alive": self.alive.cpu(),
            "diverged_at": self.diverged_at.cpu(),
            "diverged_losses": self.diverged_losses.cpu(),
            "running": self.running.cpu(),
            "snapshot": {w: {k: v.cpu() for k, v in s.items()} for w, s in self.snapshot.items()},
            "divergences": [vars(d) for d in self.divergences],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load a state of all the run's members (as checkpoints hold), keeping this trainer's."""
        state = select_members(state, self.member_index)
        self.step = int(state["step"])
        with torch.no_grad():
            for mine, saved in ((self.params_g, state["params_g"]), (self.params_d, state["params_d"])):
                for k, v in mine.items():
                    v.copy_(saved[k])
            for w, s in self.snapshot.items():
                for k, v in s.items():
                    v.copy_(state["snapshot"][w][k])
        if self.opt_g is not None:
            self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        dev = self.device
        self.alive = state["alive"].to(dev).clone()
        self.diverged_at = state["diverged_at"].to(dev).clone()
        self.diverged_losses = state["diverged_losses"].to(dev).clone()
        self.running = state["running"].to(dev).clone()
        self.divergences = [Divergence(**d) for d in state["divergences"]]


PER_MEMBER = ("params_g", "params_d", "alive", "diverged_at", "diverged_losses", "snapshot")


def _map_members(state: dict[str, Any], fn) -> dict[str, Any]:
    """Apply ``fn`` to every per-member tensor of a state dict (member dimension first; the running
    sums [3, N] along their second)."""
    def walk(v):
        if isinstance(v, torch.Tensor):
            return fn(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    out = dict(state)
    for k in PER_MEMBER:
        out[k] = walk(state[k])
    out["running"] = fn(state["running"].T).T
    for opt in ("opt_g", "opt_d"):
        if state[opt] is not None:
            out[opt] = {k: (v if k == "t" else [fn(x) for x in v]) for k, v in state[opt].items()}
    return out


def select_members(state: dict[str, Any], index: list[int]) -> dict[str, Any]:
    """The part of a full state dict that holds the members ``index``."""
    if state["alive"].shape[0] == len(index) and index == list(range(len(index))):
        return state
    idx = torch.tensor(index, dtype=torch.int64)
    out = _map_members(state, lambda v: v[idx])
    out["divergences"] = [d for d in state["divergences"] if d["member"] in set(index)]
    return out


def merge_states(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One state dict of all members from the parts of consecutive member blocks (in order)."""
    if len(parts) == 1:
        return parts[0]

    def cat(vals: list) -> Any:
        if isinstance(vals[0], torch.Tensor):
            return torch.cat(vals)
        if isinstance(vals[0], dict):
            return {k: cat([v[k] for v in vals]) for k in vals[0]}
        return vals[0]

    out = dict(parts[0])
    for k in PER_MEMBER:
        out[k] = cat([p[k] for p in parts])
    out["running"] = torch.cat([p["running"] for p in parts], dim=1)
    for opt in ("opt_g", "opt_d"):
        if parts[0][opt] is not None:
            out[opt] = {k: (v if k == "t" else [torch.cat([p[opt][k][i] for p in parts]) for i in range(len(v))])
                        for k, v in parts[0][opt].items()}
    out["divergences"] = [d for p in parts for d in p["divergences"]]
    return out


def _compile_call(model) -> Any:
    """``torch.compile`` of ``model.__call__`` through a copy of its code object. Dynamo keeps its
    compiled graphs, and its limit of 8 recompilations, per code object: every model of a class
    would otherwise share its class's ``__call__`` (``MLP.__call__``), and one trainer already needs
    5 (G and D, with and without grad, the evaluation batch), so a second compiled trainer in the
    same process (a sweep, a benchmark) silently fell back to eager for the rest."""
    fn = type(model).__call__
    own = types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    own.__kwdefaults__ = fn.__kwdefaults__
    return torch.compile(types.MethodType(own, model))
