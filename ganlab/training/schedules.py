"""Update schedules: the order in which one training step updates D and G, as registered pieces.

A schedule is a function ``(trainer, step) -> (d_loss [N], g_loss [N])`` built from the trainer's
``interface.StepInterface`` (``real``, ``fake``, ``d_gradients``, ``g_gradients``, ``update_d``,
``update_g``, ``unrolled_discriminator``); ``draws_per_step``
says how many real batches a step takes (for epochs over a fixed set). Random draws are addressed
by (step, sub): D step k uses sub k; the generator's own noise uses sub = d_steps.

* ``alternating``: k D updates, each on a fresh batch and noise, then ``g_steps`` G updates, each
  on fresh noise (Goodfellow et al. 2014, Algorithm 1 with k; WGAN's n_critic; many G steps per D
  step approach the maximin order of the game).
* ``simultaneous``: the first k − 1 D updates as above; then D's and G's gradients are both taken
  at the same θ_D on the same batch and noise and applied together (the unrolled-GAN notebook's
  tf.group; PacGAN's update).
* ``unrolled``: simultaneous, with G's loss f(θ_G, θ_D^K(θ_G)) taken after K unrolled D updates on
  that batch, differentiated through them (Metz et al. 2017, eq. 5–7). K = 0 is exactly
  ``simultaneous``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from .methods import SCHEDULE_NAMES

if TYPE_CHECKING:
    from .interface import StepInterface as Trainer

Losses = tuple[torch.Tensor, torch.Tensor]


def _d_update(t: "Trainer", step: int, k: int) -> torch.Tensor:
    real = t.real(step, k)
    with torch.no_grad():
        fake = t.fake(step, k)
    loss, grads = t.d_gradients(t.params_d, real, fake, step, k)
    t.update_d(grads)
    return loss


def alternating(t: "Trainer", step: int) -> Losses:
    m = t.cfg.method
    for k in range(m.d_steps):
        d_loss = _d_update(t, step, k)
    if not t.trains_generator:
        return d_loss, torch.full_like(d_loss, float("nan"))
    for j in range(m.g_steps):
        fake = t.fake(step, m.d_steps + j, grad=True)
        g_loss, g_grads = t.g_gradients(t.params_d, fake, step, m.d_steps + j)
        t.update_g(g_grads)
    return d_loss, g_loss


def _simultaneous(t: "Trainer", step: int, unroll: bool) -> Losses:
    m = t.cfg.method
    k = m.d_steps - 1
    for j in range(k):
        _d_update(t, step, j)
    real = t.real(step, k)
    fake = t.fake(step, k, grad=t.trains_generator)
    d_loss, d_grads = t.d_gradients(t.params_d, real, fake.detach(), step, k)
    if t.trains_generator:
        params_d = t.unrolled_discriminator(real, fake, step, k) if unroll else t.params_d
        g_loss, g_grads = t.g_gradients(params_d, fake, step, k)
    t.update_d(d_grads)
    if not t.trains_generator:
        return d_loss, torch.full_like(d_loss, float("nan"))
    t.update_g(g_grads)
    return d_loss, g_loss


def simultaneous(t: "Trainer", step: int) -> Losses:
    return _simultaneous(t, step, unroll=False)


def unrolled(t: "Trainer", step: int) -> Losses:
    return _simultaneous(t, step, unroll=True)


SCHEDULES: dict[str, Callable[["Trainer", int], Losses]] = {
    "alternating": alternating,
    "simultaneous": simultaneous,
    "unrolled": unrolled,
}
assert tuple(SCHEDULES) == SCHEDULE_NAMES, "methods.SCHEDULE_NAMES must list the registered schedules"


def draws_per_step(method) -> int:
    """Real batches one step takes: one per D update."""
    return method.d_steps
