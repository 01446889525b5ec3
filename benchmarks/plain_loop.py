#!/usr/bin/env python
"""The loop a user writes for ONE GAN, run alone as its own process: the baseline of
``benchmarks/cli_speed.py``.

It imports torch and nothing of ganlab: ``nn.Sequential`` nets, ``torch.optim``, BCE with logits
(or the Wasserstein losses with clipping or a gradient penalty), float32 ``torch.randn`` noise, a
mixture sampled with ``torch.randint`` + ``torch.randn`` (or a batch of MNIST images indexed from an
in-memory tensor). What to train — nets, loss, schedule, batch, noise, data — comes from a JSON
spec that ``cli_speed.py`` writes from the ganlab preset, so both sides train the same thing; the
loop itself is plain torch. Prints one JSON line: steps, loop seconds, steps/s.

    python benchmarks/plain_loop.py SPEC.json --steps 1000 [--threads 2]
    python benchmarks/plain_loop.py SPEC.json --until EPOCH_SECONDS   # train until that moment
    python benchmarks/plain_loop.py SPEC.json --serve   # read K per stdin line, train K steps, print seconds

``--serve`` lets ``engine_speed.py`` time this very loop, in its own process, in blocks
interleaved with the engine's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call


class Maxout(nn.Module):
    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, h):
        return h.view(*h.shape[:-1], -1, self.pieces).max(-1).values


class Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, h):
        return h * self.factor


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU,
               "identity": nn.Identity}


def mlp(s: dict, in_dim: int, out_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = [Scale(s["input_scale"])] if s["input_scale"] != 1.0 else []
    widths = s["widths"] or [s["width"]] * s["depth"]
    dims = [in_dim, *widths]
    for i, w in enumerate(widths):
        layers.append(nn.Linear(dims[i], w * s["maxout"], bias=s["bias"]))
        if s["maxout"] > 1:
            layers.append(Maxout(s["maxout"]))
        if s["batch_norm"]:
            layers.append(nn.BatchNorm1d(w))
        if s["maxout"] == 1:
            layers.append(ACTIVATIONS[s["activation"]]())
    layers += [nn.Linear(dims[-1], out_dim), ACTIVATIONS[s["out_activation"]]()]
    return nn.Sequential(*layers)


def bn(on: bool, n: int, dims: int) -> nn.Module:
    return (nn.BatchNorm1d(n) if dims == 1 else nn.BatchNorm2d(n)) if on else nn.Identity()


def dcgan_g(s: dict, z: int, c: int) -> nn.Sequential:
    wd = s["width"]
    return nn.Sequential(
        nn.Linear(z, s["hidden"]), bn(s["batch_norm"], s["hidden"], 1), nn.ReLU(),
        nn.Linear(s["hidden"], 2 * wd * 49), bn(s["batch_norm"], 2 * wd * 49, 1), nn.ReLU(),
        nn.Unflatten(1, (2 * wd, 7, 7)),
        nn.ConvTranspose2d(2 * wd, wd, 4, 2, 1), bn(s["batch_norm"], wd, 2), nn.ReLU(),
        nn.ConvTranspose2d(wd, c, 4, 2, 1), nn.Tanh())


def dcgan_d(s: dict, c: int) -> nn.Sequential:
    wd = s["width"]
    return nn.Sequential(
        nn.Conv2d(c, wd, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(wd, 2 * wd, 4, 2, 1), bn(s["batch_norm"], 2 * wd, 2), nn.LeakyReLU(0.2), nn.Flatten(1),
        nn.Linear(2 * wd * 49, s["hidden"]), bn(s["batch_norm"], s["hidden"], 1), nn.LeakyReLU(0.2),
        nn.Linear(s["hidden"], 1))


class Conditional(nn.Module):
    """G(z, y) = body([z, embed(y)]); D(x, y) = body([x, a learned 28 × 28 plane of y])."""

    def __init__(self, body: nn.Module, classes: int, size: int, plane: bool):
        super().__init__()
        self.body, self.embed, self.plane = body, nn.Embedding(classes, size), plane

    def forward(self, x, y):
        e = self.embed(y)
        return self.body(torch.cat([x, e.view(-1, 1, 28, 28)] if self.plane else [x, e], dim=1))


class Data:
    """Real batches: a Gaussian mixture (fresh samples, or a fixed set drawn once), or images."""

    def __init__(self, spec: dict):
        d = spec["data"]
        self.kind, self.classes = d["kind"], spec["classes"]
        if self.kind == "mixture":
            self.centres = torch.tensor(d["centres"], dtype=torch.float32)
            self.std = d["std"]
            self.fixed = None
            if d["dataset_size"]:
                self.fixed = self._mixture(d["dataset_size"])[0]
        else:
            with gzip.open(d["images"], "rb") as f:
                raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[: d["count"]]
            with gzip.open(d["labels"], "rb") as f:
                self.labels = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=8)[: d["count"]].astype(np.int64))
            self.images = torch.from_numpy(raw.astype(np.float32) / 127.5 - 1.0)
            self.channels = d["channels"]

    def _mixture(self, n: int):
        k = torch.randint(len(self.centres), (n,))
        return self.centres[k] + self.std * torch.randn(n, self.centres.shape[1]), k

    def batch(self, n: int):
        if self.kind == "mixture":
            if self.fixed is not None:
                return self.fixed[torch.randint(len(self.fixed), (n,))], None
            return self._mixture(n)
        idx = torch.randint(len(self.images), (n, self.channels))
        x = self.images[idx].flatten(1, 2)  # [n, channels, 28, 28]: Stacked MNIST stacks 3 random digits
        return x, self.labels[idx[:, 0]]


class PlainGAN:
    def __init__(self, spec: dict):
        m = self.m = spec["method"]
        self.spec, self.z = spec, spec["noise_dim"]
        self.data = Data(spec)
        self.pack, self.batch = m["pack"], m["batch_size"]
        classes = spec["classes"]
        if spec["data"]["kind"] == "mixture":
            dim = len(spec["data"]["centres"][0])
            self.G = mlp(spec["generator"], self.z, dim)
            self.D = mlp(spec["discriminator"], dim * self.pack, 1)
        elif spec["generator"]["kind"] == "mlp":
            self.G = nn.Sequential(mlp(spec["generator"], self.z, 784), nn.Unflatten(1, (1, 28, 28)))
            self.D = nn.Sequential(nn.Flatten(1), mlp(spec["discriminator"], 784, 1))
        else:
            c = spec["data"]["channels"]
            if classes:
                e = spec["generator"]["embed"]
                self.G = Conditional(dcgan_g(spec["generator"], self.z + e, c), classes, e, plane=False)
                self.D = Conditional(dcgan_d(spec["discriminator"], c + 1), classes, 784, plane=True)
            else:
                self.G, self.D = dcgan_g(spec["generator"], self.z, c), dcgan_d(spec["discriminator"], c)
        self.opt_g, self.opt_d = self._opt(self.G, m["lr_g"]), self._opt(self.D, m["lr_d"])

    def _opt(self, net, lr):
        m = self.m
        if m["optimizer"] == "adam":
            return torch.optim.Adam(net.parameters(), lr=lr, betas=tuple(m["betas"]), eps=m["eps"])
        if m["optimizer"] == "rmsprop":
            return torch.optim.RMSprop(net.parameters(), lr=lr, alpha=m["rmsprop_alpha"], eps=m["eps"])
        return torch.optim.SGD(net.parameters(), lr=lr)

    def noise(self, n):
        if self.spec["noise"] == "uniform":
            return torch.rand(n, self.z) * 2 - 1
        return torch.randn(n, self.z)

    # the pieces
    def real(self):
        return self.data.batch(self.batch * self.pack)

    def fake(self, labels):
        z = self.noise(self.batch * self.pack)
        return self.G(z, labels) if self.spec["classes"] else self.G(z)

    def judge(self, D, x, labels):
        if self.spec["classes"]:
            return D(x, labels)
        if self.pack > 1:
            x = torch.cat(x.chunk(self.pack), dim=1)
        return D(x)

    def d_loss(self, D, real, fake, labels):
        lr_, lf = self.judge(D, real, labels), self.judge(D, fake, labels)
        if self.m["loss"] == "gan":
            loss = F.binary_cross_entropy_with_logits(lr_, torch.ones_like(lr_)) + \
                F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
        else:
            loss = lf.mean() - lr_.mean()
        if self.m["gp_lambda"]:
            a = torch.rand(real.shape[0], *[1] * (real.ndim - 1))
            x_hat = (a * real + (1 - a) * fake.detach()).requires_grad_(True)
            (g,) = torch.autograd.grad(self.judge(D, x_hat, labels).sum(), x_hat, create_graph=True)
            loss = loss + self.m["gp_lambda"] * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        return loss

    def g_loss(self, D, fake, labels):
        lf = self.judge(D, fake, labels)
        if self.m["loss"] == "wasserstein":
            return -lf.mean()
        if self.m["generator_loss"] == "minimax":
            return -F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
        return F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))

    def clip(self):
        if self.m["clip"] is not None:
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-self.m["clip"], self.m["clip"])

    def d_step(self):
        real, labels = self.real()
        with torch.no_grad():
            fake = self.fake(labels)
        self.opt_d.zero_grad()
        self.d_loss(self.D, real, fake, labels).backward()
        self.opt_d.step()
        self.clip()

    def unrolled_params(self, real, fake, labels):
        """θ_D after K Adam steps on this batch, differentiable in θ_G (Metz et al. 2017)."""
        (b1, b2), lr, eps = self.m["betas"], self.m["lr_d"], self.m["eps"]
        params = dict(self.D.named_parameters())
        mom = {n: torch.zeros_like(p) for n, p in params.items()}
        sq = {n: torch.zeros_like(p) for n, p in params.items()}
        for t in range(1, self.m["unroll"] + 1):
            loss = self.d_loss(lambda x, p=dict(params): functional_call(self.D, p, (x,)), real, fake, labels)
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
            for (n, p), g in zip(list(params.items()), grads):
                mom[n] = b1 * mom[n] + (1 - b1) * g
                sq[n] = b2 * sq[n] + (1 - b2) * g * g
                params[n] = p - lr * (mom[n] / (1 - b1**t)) / (torch.sqrt(sq[n] / (1 - b2**t) + 1e-16) + eps)
        return params

    def step(self):
        m = self.m
        if m["schedule"] == "alternating":
            for _ in range(m["d_steps"]):
                self.d_step()
            for _ in range(m["g_steps"]):
                labels = torch.randint(self.spec["classes"], (self.batch,)) if self.spec["classes"] else None
                self.opt_g.zero_grad()
                self.g_loss(self.D, self.fake(labels), labels).backward()
                self.opt_g.step()
            return
        for _ in range(m["d_steps"] - 1):
            self.d_step()
        real, labels = self.real()
        fake = self.fake(labels)
        self.opt_d.zero_grad()
        self.d_loss(self.D, real, fake.detach(), labels).backward()
        D = self.D
        if m["schedule"] == "unrolled" and m["unroll"]:
            params = self.unrolled_params(real, fake, labels)
            D = lambda x: functional_call(self.D, params, (x,))  # noqa: E731
        self.opt_g.zero_grad()
        self.g_loss(D, fake, labels).backward(inputs=list(self.G.parameters()))
        self.opt_d.step()
        self.clip()
        self.opt_g.step()


def input_line() -> str:
    import sys

    return sys.stdin.readline().strip()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("spec", help="JSON spec written by cli_speed.py")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--steps", type=int, help="train this many steps")
    when.add_argument("--until", type=float, help="train until this wall-clock time (seconds since the epoch)")
    when.add_argument("--serve", action="store_true", help="train K steps per line K read from stdin; print seconds")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.spec) as f:
        spec = json.load(f)
    gan = PlainGAN(spec)
    if args.serve:
        for line in iter(input_line, ""):
            t0 = time.perf_counter()
            for _ in range(int(line)):
                gan.step()
            print(time.perf_counter() - t0, flush=True)
        return 0
    t0, steps = time.perf_counter(), 0
    while (steps < args.steps) if args.until is None else (steps == 0 or time.time() < args.until):
        gan.step()
        steps += 1
    loop = time.perf_counter() - t0
    print(json.dumps({"steps": steps, "loop_s": loop, "steps_per_s": steps / loop if loop else math.inf}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
