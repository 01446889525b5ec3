"""Class-conditional models use their label: the batched conditional DCGAN generator and
discriminator and the conditional MLP against the label's path written out by hand (a one-hot
vector times the embedding matrix, concatenated to the input, then the unconditional body with the
member's own weights), and the gradient reaches exactly the embedding rows of the labels used.

Note on batch norm: a label shared by every row of a batch is a constant shift of the first layer's
pre-activations, which batch norm subtracts, so a batch-norm generator conditioned on one class
for the whole batch ignores it; every check here uses batches of mixed labels."""

import pytest
import torch
import torch.nn.functional as F

from ganlab.models.base import build_model
from ganlab.models.conv import DCGANSpec, dcgan_discriminator, dcgan_generator
from ganlab.models.mlp import MLPSpec

K, NOISE, IMAGE = 5, 6, (1, 8, 8)
SEEDS = (0, 1)
LABELS = torch.tensor([[0, 1, 2, 3, 4, 0, 2, 2], [4, 4, 3, 1, 0, 1, 2, 3]])  # [N, B], mixed


def _member(params, i: int, prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v[i] for k, v in params.items() if k.startswith(prefix)}


@pytest.mark.parametrize("batch_norm", [True, False])
def test_conditional_dcgan_generator_is_its_body_on_z_and_the_label_embedding(batch_norm):
    spec = DCGANSpec(width=4, hidden=16, embed=3, batch_norm=batch_norm, init_scale=0.5)
    g = build_model(spec, (NOISE,), IMAGE, classes=K)
    p = g.init(SEEDS, "g", torch.float64)
    z = torch.randn(2, LABELS.shape[1], NOISE, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = g(p, z, labels=LABELS)
    for i in range(2):
        body = dcgan_generator(spec, NOISE + 3, IMAGE).to(torch.float64)
        body.load_state_dict(_member(p, i, "body."))
        emb = F.one_hot(LABELS[i], K).to(torch.float64) @ p["embedding.weight"][i]  # [B, 3]
        torch.testing.assert_close(out[i], body(torch.cat([z[i], emb], dim=1)), rtol=1e-12, atol=1e-12)
    # the same z under other labels gives other images, row by row (outputs are O(0.1–1))
    other = g(p, z, labels=(LABELS + 1) % K)
    assert ((out - other).flatten(2).abs().amax(dim=2) > 1e-3).all()


def test_conditional_dcgan_generator_gradient_reaches_exactly_the_labels_rows():
    spec = DCGANSpec(width=4, hidden=16, embed=3, init_scale=0.5)
    g = build_model(spec, (NOISE,), IMAGE, classes=K)
    p = {k: v.requires_grad_() for k, v in g.init(SEEDS, "g", torch.float64).items()}
    z = torch.randn(2, 8, NOISE, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([[0, 2, 3, 0, 2, 3, 3, 0]] * 2)  # classes 1 and 4 unused
    w = torch.randn(2, 8, *IMAGE, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    (grad,) = torch.autograd.grad((g(p, z, labels=labels) * w).sum(), [p["embedding.weight"]])
    used = grad.abs().sum(dim=2) > 0  # [N, K]
    assert used.tolist() == [[True, False, True, True, False]] * 2


def test_conditional_dcgan_discriminator_is_its_body_on_x_and_the_label_plane():
    spec = DCGANSpec(width=4, hidden=16, init_scale=0.5)
    d = build_model(spec, IMAGE, (1,), classes=K)
    p = d.init(SEEDS, "d", torch.float64)
    x = torch.randn(2, LABELS.shape[1], *IMAGE, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    out = d(p, x, labels=LABELS)
    for i in range(2):
        body = dcgan_discriminator(spec, (2, *IMAGE[1:]), 1).to(torch.float64)
        body.load_state_dict(_member(p, i, "body."))
        plane = (F.one_hot(LABELS[i], K).to(torch.float64) @ p["embedding.weight"][i]).view(-1, 1, *IMAGE[1:])
        torch.testing.assert_close(out[i], body(torch.cat([x[i], plane], dim=1)), rtol=1e-12, atol=1e-12)
    assert ((out - d(p, x, labels=(LABELS + 1) % K)).abs() > 1e-9).all()


def test_conditional_mlp_is_the_mlp_on_z_and_a_one_hot_label():
    """One hidden ReLU layer written out: relu([z, e_y] W0 + b0) W1 + b1, e_y the one-hot label."""
    net = build_model(MLPSpec(width=16, depth=1), (NOISE,), (2,), classes=K)
    p = net.init(SEEDS, "g", torch.float64)
    z = torch.randn(2, LABELS.shape[1], NOISE, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    onehot = (LABELS[..., None] == torch.arange(K)).to(torch.float64)
    hand = torch.relu(torch.cat([z, onehot], dim=2) @ p["w0"] + p["b0"]) @ p["w1"] + p["b1"]
    out = net(p, z, labels=LABELS)
    torch.testing.assert_close(out, hand, rtol=1e-12, atol=1e-12)
    assert ((out - net(p, z, labels=(LABELS + 1) % K)).abs().amax(dim=2) > 1e-9).all()
