"""The plain way to train one GAN, written independently of the engine: ``nn.Sequential`` nets,
``torch.optim`` optimizers, packing and the unrolled surrogate written out here, and each loss's
and regulariser's own written-out reference computation (``Loss.reference_discriminator``,
``Regulariser.reference_penalty``, …: torch's ``binary_cross_entropy_with_logits`` for the GAN
losses, the penalty on one member's [B, ...] batch), kept apart from the engine's batched one in
the part's module. It shares no loss, optimizer, packing or sampling code with the engine — so a
wrong formula in either shows up as a disagreement (``tests/training/test_engine.py``).

Random inputs come from outside: ``train_step`` takes the real batches, noise and penalty
interpolation weights of one step (in the tests, the ones the engine drew for the member being
compared; in ``benchmarks/engine_speed.py``, plain float32 draws), so the comparison tests the
training arithmetic, and the samplers are tested on their own (``tests/data``, ``tests/test_rng.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call

from .config import TrainConfig
from .losses import LOSSES
from .lr_schedules import from_method
from .methods import MethodConfig
from .regularisers import active_regularisers


class Maxout(nn.Module):
    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.view(*h.shape[:-1], -1, self.pieces).max(-1).values


class Scale(nn.Module):
    """x ↦ factor · x (a discriminator that scales its input, Metz et al. 2017 appendix A)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.factor


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU, "identity": nn.Identity,
}


def sequential(spec, in_dim: int, out_dim: int, weights: dict[str, torch.Tensor]) -> nn.Sequential:
    """An nn.Sequential MLP of an ``MLPSpec`` holding ``weights`` (one member's slice of the
    engine's parameters: w{i} [in, out], b{i} [1, out], bn_w{i}, bn_b{i} [1, width])."""
    layers: list[nn.Module] = [Scale(spec.input_scale)] if spec.input_scale != 1.0 else []
    widths = spec.widths or (spec.width,) * spec.depth
    dims = [in_dim, *widths]
    for i in range(len(widths) + 1):
        hidden = i < len(widths)
        fan_out = widths[i] * spec.maxout if hidden else out_dim
        lin = nn.Linear(dims[i], fan_out, bias=f"b{i}" in weights, dtype=weights["w0"].dtype)
        with torch.no_grad():
            lin.weight.copy_(weights[f"w{i}"].T)
            if lin.bias is not None:
                lin.bias.copy_(weights[f"b{i}"][0])
        layers.append(lin)
        if hidden:
            if spec.maxout > 1:
                layers.append(Maxout(spec.maxout))
            if spec.batch_norm:
                bn = nn.BatchNorm1d(widths[i], track_running_stats=False, dtype=weights["w0"].dtype)
                with torch.no_grad():
                    bn.weight.copy_(weights[f"bn_w{i}"][0])
                    bn.bias.copy_(weights[f"bn_b{i}"][0])
                layers.append(bn)
            if spec.maxout == 1:
                layers.append(_ACTIVATIONS[spec.activation]())
    layers.append(_ACTIVATIONS[spec.out_activation]())
    return nn.Sequential(*layers)


def _optimizer(m: MethodConfig, params, lr: float) -> torch.optim.Optimizer:
    if m.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=m.betas, eps=m.eps)
    if m.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=m.rmsprop_alpha, eps=m.eps)
    return torch.optim.SGD(params, lr=lr)


class ReferenceGAN:
    """One GAN (one member): ``method`` is that member's own method (grid values applied)."""

    def __init__(self, cfg: TrainConfig, method: MethodConfig, g_weights: dict, d_weights: dict, data_dim: int):
        self.cfg, self.m = cfg, method
        self.G = sequential(cfg.generator, cfg.noise_dim, data_dim, g_weights)
        self.D = sequential(cfg.discriminator, data_dim * method.pack, 1, d_weights)
        self.opt_g = _optimizer(method, self.G.parameters(), method.lr_g)
        self.opt_d = _optimizer(method, self.D.parameters(), method.lr_d)
        self.regularisers = active_regularisers(method, {})  # this member's own (gridded values applied)
        # the learning-rate schedule as torch.optim.lr_scheduler's own class (``lr_schedules`` writes the
        # closed forms the engine uses), stepped once per training step until the schedule holds
        self.lr_schedule = from_method(method)
        self.schedulers = [s for s in (self.lr_schedule.reference_scheduler(o) for o in (self.opt_g, self.opt_d))
                           if s is not None]

    # -- the pieces, written out ------------------------------------------------------------------
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G once per pack slot (rows j·B … (j+1)·B − 1), so batch norm sees each slot alone."""
        return torch.cat([self.G(c) for c in z.chunk(self.m.pack)])

    def packs(self, x: torch.Tensor) -> torch.Tensor:
        """Pack b = [x_b, x_{B+b}, …, x_{(m−1)B+b}] concatenated along features."""
        return torch.cat(x.chunk(self.m.pack), dim=1)

    def d_objective(self, D: Callable, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor | None):
        m = self.m
        real_p, fake_p = self.packs(real), self.packs(fake)
        loss = LOSSES[m.loss].reference_discriminator(m, D(real_p), D(fake_p))
        for reg in self.regularisers:
            term = reg.reference_penalty(m, D, real_p, fake_p, alpha)
            if term is not None:
                loss = loss + term
        return loss

    def g_objective(self, D: Callable, fake: torch.Tensor) -> torch.Tensor:
        return LOSSES[self.m.loss].reference_generator(self.m, D(self.packs(fake)))

    def _d_step(self, real, z, alpha) -> None:
        with torch.no_grad():
            fake = self.generate(z)
        self.opt_d.zero_grad()
        self.d_objective(self.D, real, fake, alpha).backward()
        self.opt_d.step()
        self._after_d_update()

    def _after_d_update(self) -> None:
        for reg in self.regularisers:
            reg.reference_after_update(self.m, self.D)

    def _unrolled_params(self, real, fake) -> dict[str, torch.Tensor]:
        """θ_D after K Adam steps on (real, fake), written out (Kingma & Ba, torch's ε placement),
        differentiable in θ_G through ``fake`` (second order) or not (first)."""
        m = self.m
        second = m.unroll_order == "second"
        names = [n for n, _ in self.D.named_parameters()]
        params = {n: p for n, p in self.D.named_parameters()}
        state = {n: self.opt_d.state.get(p, {}) for n, p in self.D.named_parameters()}
        mom = {n: state[n]["exp_avg"].detach().clone() if state[n] else torch.zeros_like(params[n]) for n in names}
        sq = {n: state[n]["exp_avg_sq"].detach().clone() if state[n] else torch.zeros_like(params[n]) for n in names}
        t = int(state[names[0]]["step"]) if state[names[0]] else 0
        (b1, b2) = m.betas
        for _ in range(m.unroll):
            t += 1
            D = lambda x, p=dict(params): functional_call(self.D, p, (x,))  # noqa: E731
            loss = self.d_objective(D, real, fake if second else fake.detach(), None)
            grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=second)
            for n, g in zip(names, grads):
                mom[n] = b1 * mom[n] + (1 - b1) * g
                sq[n] = b2 * sq[n] + (1 - b2) * g * g
                m_hat, v_hat = mom[n] / (1 - b1**t), sq[n] / (1 - b2**t)
                # the 1e-16 under the root keeps d√v/dv finite at v = 0, as the engine does
                params[n] = params[n] - self.opt_d.param_groups[0]["lr"] * m_hat / (torch.sqrt(v_hat + 1e-16) + m.eps)
        return params if second else {n: p.detach() for n, p in params.items()}

    # -- one step ---------------------------------------------------------------------------------
    def train_step(self, real: list[torch.Tensor], z: list[torch.Tensor], alpha: list[torch.Tensor | None]) -> None:
        """One generator update after d_steps discriminator updates, in the method's schedule.
        real[k], z[k], alpha[k]: D step k's inputs; z[d_steps + j]: the generator's own noise for
        its j-th update (alternating only). Then each learning-rate scheduler steps once."""
        self._updates(real, z, alpha)
        hold = self.lr_schedule.holds_from
        for s in self.schedulers:
            if hold is None or s.last_epoch < hold:
                s.step()

    def _updates(self, real: list[torch.Tensor], z: list[torch.Tensor], alpha: list[torch.Tensor | None]) -> None:
        m = self.m
        if m.schedule == "alternating":
            for k in range(m.d_steps):
                self._d_step(real[k], z[k], alpha[k])
            for j in range(m.g_steps):
                self.opt_g.zero_grad()
                self.g_objective(self.D, self.generate(z[m.d_steps + j])).backward(inputs=list(self.G.parameters()))
                self.opt_g.step()
            return
        last = m.d_steps - 1
        for k in range(last):
            self._d_step(real[k], z[k], alpha[k])
        fake = self.generate(z[last])
        self.opt_d.zero_grad()
        self.d_objective(self.D, real[last], fake.detach(), alpha[last]).backward()
        self.opt_g.zero_grad()
        if m.schedule == "unrolled" and m.unroll:
            params = self._unrolled_params(real[last], fake)
            D = lambda x: functional_call(self.D, params, (x,))  # noqa: E731
        else:
            D = self.D
        self.g_objective(D, fake).backward(inputs=list(self.G.parameters()))
        self.opt_d.step()
        self._after_d_update()
        self.opt_g.step()
