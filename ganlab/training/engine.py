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

``Trainer`` keeps the step. Its other concerns are pieces with written interfaces: the parts come
from ``assembly.assemble``; divergence handling is ``divergence.DivergenceWatch``; evaluation is
``evaluation.Evaluation``; checkpoint state is ``checkpoint`` (its keys listed there). Schedules and
regularisers use the trainer through ``interface.StepInterface`` alone.
"""

from __future__ import annotations

import contextlib
import types
from typing import Any

import torch

from ..models import Params
from ..rng import Streams
from . import checkpoint
from .assembly import Assembly, assemble
from .checkpoint import merge_states, select_members  # noqa: F401 (their home before checkpoint.py)
from .config import Runtime, TrainConfig
from .divergence import Divergence, DivergenceWatch  # noqa: F401 (Divergence: its home before divergence.py)
from .evaluation import Evaluation
from .methods import grid_fields
from .optim import BatchedOptimizer


GENERATE_CHUNK = 2500  # rows per generator call when sampling for evaluation


class Trainer:
    """Holds the batched state of a run and advances it one step at a time."""

    def __init__(self, cfg: TrainConfig, runtime: Runtime | None = None, *, source: Any = None,
                 fake_source: Any = None, members: list[int] | None = None, parts: Assembly | None = None):
        """``members``: the indices (into ``cfg.members()``) this trainer holds — all by default;
        a process of a multi-process run holds its share (``runs.Comm``). ``source`` and
        ``fake_source`` go to ``assemble`` (a fake source stands in for G, which is then not built);
        ``parts``: ``assemble``'s result when the caller has it already (then those two are unused)."""
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
        if parts is not None and parts.cfg != cfg:
            raise ValueError("parts were assembled from another configuration than the trainer's")
        parts = parts or assemble(cfg, self.rt, source=source, fake_source=fake_source)
        self.parts = parts
        self.target, self.packing = parts.target, parts.packing
        self.source = parts.source
        self.source.draws_per_step = parts.draws_per_step
        self.source.prepare(self.streams, self.device)
        self.classes = cfg.classes
        self._uniform_classes = torch.arange(1, self.classes + 1, dtype=torch.float64, device=self.device) / max(self.classes, 1)
        self.fake_source = parts.fake_source
        if self.fake_source is not None:
            self.fake_source.prepare(self.streams, self.device)
        self.G, self.D = parts.G, parts.D
        self.hyper = self._hyperparameters()
        self.params_g = self._leaves(self.G.init(self.seeds, "g", self.dtype, self.device)) if self.G else {}
        self.params_d = self._leaves(self.D.init(self.seeds, "d", self.dtype, self.device))
        opt = parts.optimizer
        kw = dict(betas=m.betas, eps=m.eps, rmsprop_alpha=m.rmsprop_alpha)
        self.opt_d: BatchedOptimizer = opt(list(self.params_d.values()), self.hyper["lr_d"], **kw)
        self.opt_g: BatchedOptimizer | None = (
            opt(list(self.params_g.values()), self.hyper["lr_g"], **kw) if self.G else None)
        self.lr_schedule, self.regularisers, self.schedule = parts.lr_schedule, parts.regularisers, parts.schedule
        self.loss = parts.loss
        self._forward_g = self.G.__call__ if self.G else None
        self._forward_d = self.D.__call__
        if self.rt.compile:
            self._forward_d = _compile_call(self.D)
            self._forward_g = _compile_call(self.G) if self.G else None
        self.step = 0
        self.watch = DivergenceWatch(self.members, self.member_index, {"g": self.params_g, "d": self.params_d},
                                     [o for o in (self.opt_d, self.opt_g) if o is not None], self.trains_generator,
                                     self.device)
        self.evaluation = Evaluation(cfg, self.members, self.member_index, self.target, self.source, self.watch,
                                     lambda n, purpose, step: self.generate(n, purpose, step))

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

    @property
    def trains_generator(self) -> bool:
        return self.G is not None

    @property
    def alive(self) -> torch.Tensor:
        """[N] bool on the device: members not (yet) diverged (``divergence.DivergenceWatch``)."""
        return self.watch.alive

    @property
    def divergences(self) -> list[Divergence]:
        return self.watch.divergences

    @property
    def running(self) -> torch.Tensor:
        """[3, N] on the device: d_loss and g_loss sums and finite steps since the last evaluation."""
        return self.watch.running

    @property
    def batch_rows(self) -> int:
        """Rows of one minibatch: batch_size packs of m samples."""
        return self.packing.rows

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
            return self._forward_g(self.params_g, z, groups=self.packing.m, labels=labels).to(self.dtype)

    # -- the maths of one step -------------------------------------------------------------------
    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """[N, m·B, C, ...] → [N, B, m·C, ...] (``packing.Packing``)."""
        return self.packing(x)

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
        loss = self.loss.discriminator(real_l, fake_l, self.cfg.method)
        for reg in self.regularisers:
            term = reg.penalty(self, params_d, real_p, fake_p, step, sub)
            if term is not None:
                loss = loss + term
        return loss

    def g_loss(self, params_d: Params, fake: torch.Tensor, step: int, sub: int) -> torch.Tensor:
        """The generator's loss [N] on ``fake``, draw (step, sub)."""
        m = self.cfg.method
        return self.loss.generator(m.generator_loss, self.discriminate(params_d, fake, self.fake_labels(step, sub)), m)

    def _gradients(self, loss: torch.Tensor, params: Params) -> list[torch.Tensor]:
        """Gradients of Σ_i alive_i · loss_i: a frozen member gets exactly zero gradients (its own
        loss times 0; finite, since it sits at finite snapshot weights), the others their own."""
        return list(torch.autograd.grad((loss * self.watch.alive).sum(), list(params.values())))

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
        self.watch.watch(self.step, d_loss, g_loss)
        return d_loss, g_loss

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

    def evaluate(self, evaluators: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """One metrics row per member at the current step (``evaluation.Evaluation.evaluate``)."""
        return self.evaluation.evaluate(self.step, evaluators)

    @property
    def last_samples(self) -> torch.Tensor | None:
        """The samples of the latest evaluation [N, eval_samples, *shape]."""
        return self.evaluation.last_samples

    def final_samples(self) -> torch.Tensor:
        return self.evaluation.final_samples(self.step)

    def final_metrics(self, samples: torch.Tensor) -> dict[str, list[float]]:
        return self.evaluation.final_metrics(samples, self.step)

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically (``checkpoint``: its keys); loadable with
        ``torch.load(..., weights_only=True)``. Every tensor's first dimension is this trainer's
        members (``checkpoint.merge_states`` joins processes' parts)."""
        return checkpoint.capture(self.step, self.params_g, self.params_d, self.opt_g, self.opt_d, self.watch)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load a state of all the run's members (as checkpoints hold), keeping this trainer's."""
        state = checkpoint.select_members(state, self.member_index)
        self.step = checkpoint.restore(state, self.params_g, self.params_d, self.opt_g, self.opt_d, self.watch)


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
