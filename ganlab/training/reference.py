"""The plain way to train one GAN: ``nn.Sequential`` modules, ``torch.optim.Adam``, one seed at a
time. It is the yardstick for the batched engine twice over: for correctness (it draws the same
random numbers in the same order, so with one seed it must match engine member i) and for speed
(``benchmarks/engine_speed.py`` compares a loop over seeds of this against one batched run).

Covers the GAN loss (minimax or non-saturating), k discriminator steps, packing and both update
orders; the Wasserstein losses and unrolling live only in the engine.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import TrainConfig
from .losses import LOSSES
from .methods import OPTIMIZERS
from ..models.mlp import ACTIVATIONS, MLP
from ..theory.targets import make_target


class Maxout(nn.Module):
    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.unflatten(-1, (-1, self.pieces)).max(-1).values


class Activation(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.name](h)


def sequential(mlp: MLP, generator: torch.Generator, dtype: torch.dtype) -> nn.Sequential:
    """An nn.Sequential with the weights ``mlp.init_params`` gives this generator."""
    s = mlp.spec
    p = {k: v[0] for k, v in mlp.init_params([generator], dtype).items()}
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(mlp.layer_shapes()):
        lin = nn.Linear(fan_in, fan_out, bias=f"b{i}" in p, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(p[f"w{i}"].t())
            if lin.bias is not None:
                lin.bias.copy_(p[f"b{i}"][0])
        layers.append(lin)
        if i < s.depth:
            if s.maxout > 1:
                layers.append(Maxout(s.maxout))
            if s.batch_norm:
                layers.append(nn.BatchNorm1d(s.width, dtype=dtype))
            if s.maxout == 1:
                layers.append(Activation(s.activation))
    return nn.Sequential(*layers)


class NaiveGAN:
    """One GAN, trained step by step exactly as engine member ``seed`` is."""

    def __init__(self, cfg: TrainConfig, seed: int):
        m = cfg.method
        if m.loss != "gan" or m.unroll or cfg.dataset_size is not None or cfg.noise != "normal":
            raise NotImplementedError("the naive loop covers the GAN loss on fresh samples with normal noise")
        self.cfg, self.m = cfg, m
        self.target = make_target(cfg.target, **cfg.target_kwargs)
        self.dtype = getattr(torch, cfg.dtype)
        self.gen = torch.Generator().manual_seed(seed)
        d = self.target.dim
        self.G = sequential(MLP(cfg.generator, cfg.noise_dim, d), self.gen, self.dtype)
        self.D = sequential(MLP(cfg.discriminator, d * m.pack, 1), self.gen, self.dtype)
        self.opt_g = OPTIMIZERS[m.optimizer](list(self.G.parameters()), m.lr_g, m)
        self.opt_d = OPTIMIZERS[m.optimizer](list(self.D.parameters()), m.lr_d, m)

    def _real(self, n: int) -> torch.Tensor:
        return self.target.sample(n, self.gen, dtype=torch.float64).to(self.dtype)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.noise_dim, generator=self.gen, dtype=torch.float64).to(self.dtype)

    def _generate(self, z: torch.Tensor) -> torch.Tensor:
        # one generator call per pack slot, so batch norm sees each slot alone
        return torch.cat([self.G(c) for c in z.chunk(self.m.pack)])

    def _discriminate(self, x: torch.Tensor) -> torch.Tensor:
        m = self.m.pack
        return self.D(x.view(m, -1, x.shape[1]).transpose(0, 1).reshape(-1, m * x.shape[1]))[None]

    def train_step(self) -> None:
        m, batch = self.m, self.m.batch_size * self.m.pack
        family = LOSSES[m.loss]
        for k in range(m.d_steps):
            real, z = self._real(batch), self._noise(batch)
            with torch.no_grad():
                fake = self._generate(z)
            self.opt_d.zero_grad()
            family.discriminator(self._discriminate(real), self._discriminate(fake)).sum().backward()
            last_held = m.simultaneous and k == m.d_steps - 1
            if not last_held:
                self.opt_d.step()
        z_g = z if m.simultaneous else self._noise(batch)
        self.opt_g.zero_grad()
        g_loss = family.generator[m.generator_loss](self._discriminate(self._generate(z_g))).sum()
        g_loss.backward(inputs=list(self.G.parameters()))  # leave D's held gradient untouched
        if m.simultaneous:
            self.opt_d.step()
        self.opt_g.step()
