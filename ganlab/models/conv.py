"""Convolutional GANs as batched models (``torch.func`` ensembles of ``nn.Module``).

``DCGANSpec`` builds the DCGAN of Radford et al. (2016) in the shape the GAN-zoo's MNIST code uses
for 28 × 28 images: a generator z → [fully connected hidden] → 2w × H/4 × W/4 → transposed
convolutions (stride 2, kernel 4) → C × H × W with tanh, and a discriminator mirroring it with
strided convolutions and LeakyReLU(0.2). Which of the two is built follows from the shapes: an
image output makes a generator, an image input a discriminator (its channels multiplied by the
pack size when packed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..validation import check_int, check_positive
from .base import Shape, register_model
from .ensemble import ModuleEnsemble, normal_init


@dataclass(frozen=True)
class DCGANSpec:
    """width: channels of the first (D) / last (G) convolution, doubled in the other; hidden: width
    of the fully connected layer (0: none); batch_norm: on every layer but D's first and the
    outputs (off for WGAN-GP critics, whose penalty is per sample); init_scale: N(0, s²) weights."""

    width: int = 64
    hidden: int = 1024
    batch_norm: bool = True
    init_scale: float = 0.02
    embed: int = 10  # conditional generators: size of the label embedding concatenated to z

    def __post_init__(self) -> None:
        check_int("width", self.width)
        check_int("hidden", self.hidden, minimum=0)
        check_positive("init_scale", self.init_scale)
        check_int("embed", self.embed)


class Dense(nn.Module):
    """x ↦ x W + b with W stored as [in, out]: under ``vmap`` the members' products are one batched
    matmul of contiguous operands, and the weight gradient comes back in the weight's own layout
    (nn.Linear's [out, in] weight made both a transposed operand and a transposed gradient, and
    copying them cost a fifth of a DCGAN step on CPU)."""

    def __init__(self, fan_in: int, fan_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(fan_in, fan_out))
        self.bias = nn.Parameter(torch.empty(fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x, self.weight)


def _norm(spec: DCGANSpec, n: int, dims: int) -> nn.Module:
    if not spec.batch_norm:
        return nn.Identity()
    cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
    return cls(n, track_running_stats=False)


def _image_shape(shape: Shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
        raise ValueError(f"DCGAN {what} must be an image C × H × W with H and W divisible by 4, got {shape}")
    return shape  # type: ignore[return-value]


def dcgan_generator(spec: DCGANSpec, noise_dim: int, image: Shape) -> nn.Module:
    c, h, w = _image_shape(image, "output")
    wd, fh, fw = spec.width, h // 4, w // 4
    layers: list[nn.Module] = []
    features = noise_dim
    if spec.hidden:
        layers += [Dense(features, spec.hidden), _norm(spec, spec.hidden, 1), nn.ReLU()]
        features = spec.hidden
    layers += [
        Dense(features, 2 * wd * fh * fw), _norm(spec, 2 * wd * fh * fw, 1), nn.ReLU(),
        nn.Unflatten(1, (2 * wd, fh, fw)),
        nn.ConvTranspose2d(2 * wd, wd, 4, 2, 1), _norm(spec, wd, 2), nn.ReLU(),
        nn.ConvTranspose2d(wd, c, 4, 2, 1), nn.Tanh(),
    ]
    return nn.Sequential(*layers)


def dcgan_discriminator(spec: DCGANSpec, image: Shape, out: int) -> nn.Module:
    c, h, w = _image_shape(image, "input")
    wd, fh, fw = spec.width, h // 4, w // 4
    act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    layers: list[nn.Module] = [
        nn.Conv2d(c, wd, 4, 2, 1), act(),
        nn.Conv2d(wd, 2 * wd, 4, 2, 1), _norm(spec, 2 * wd, 2), act(),
        nn.Flatten(1),
    ]
    features = 2 * wd * fh * fw
    if spec.hidden:
        layers += [Dense(features, spec.hidden), _norm(spec, spec.hidden, 1), act()]
        features = spec.hidden
    layers.append(Dense(features, out))
    return nn.Sequential(*layers)


class ConditionalGenerator(nn.Module):
    """G(z, y) = body([z, embedding(y)])."""

    def __init__(self, body: nn.Module, classes: int, embed: int):
        super().__init__()
        self.embedding, self.body = nn.Embedding(classes, embed), body

    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embedding(labels)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """D(x, y) = body([x, map(y)]) with map(y) a learned H × W plane per class."""

    def __init__(self, body: nn.Module, classes: int, image: Shape):
        super().__init__()
        self.image = image
        self.embedding, self.body = nn.Embedding(classes, image[1] * image[2]), body

    def forward(self, x, labels):
        plane = self.embedding(labels).view(-1, 1, *self.image[1:])
        return self.body(torch.cat([x, plane], dim=1))


def build_dcgan(spec: DCGANSpec, in_shape: Shape, out_shape: Shape, classes: int = 0) -> ModuleEnsemble:
    init = normal_init(spec.init_scale)
    if len(out_shape) == 3:  # noise → image
        if len(in_shape) != 1:
            raise ValueError(f"a DCGAN generator takes a noise vector, got input shape {in_shape}")
        if classes:
            make = lambda: ConditionalGenerator(  # noqa: E731
                dcgan_generator(spec, in_shape[0] + spec.embed, out_shape), classes, spec.embed)
        else:
            make = lambda: dcgan_generator(spec, in_shape[0], out_shape)  # noqa: E731
    elif len(in_shape) == 3:  # image → logits
        if classes:
            widened = (in_shape[0] + 1, *in_shape[1:])
            make = lambda: ConditionalDiscriminator(  # noqa: E731
                dcgan_discriminator(spec, widened, math.prod(out_shape)), classes, in_shape)
        else:
            make = lambda: dcgan_discriminator(spec, in_shape, math.prod(out_shape))  # noqa: E731
    else:
        raise ValueError(f"a DCGAN maps noise to images or images to logits, got {in_shape} → {out_shape}")
    return ModuleEnsemble(make, init, in_shape, out_shape, classes)


register_model("dcgan", DCGANSpec, build_dcgan)
