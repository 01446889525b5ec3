"""The batched optimizers against torch.optim (the same formulas, written by torch), per member."""

import pytest
import torch

from ganlab.training.optim import OPTIMIZERS

HYPER = dict(betas=(0.5, 0.9), eps=1e-8, rmsprop_alpha=0.9)


def torch_optimizer(name: str, params, lr: float):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=HYPER["betas"], eps=HYPER["eps"], foreach=False)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=HYPER["rmsprop_alpha"], eps=HYPER["eps"], foreach=False)
    return torch.optim.SGD(params, lr=lr, foreach=False)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_member_follows_torch_with_its_own_learning_rate(name):
    """Member i of a batched optimizer with lr[i] equals torch.optim with lr[i] on member i's slice,
    over 20 steps of random gradients (float64; the update's factors are ordered differently, so
    equal to rounding)."""
    g = torch.Generator().manual_seed(0)
    lrs = torch.tensor([1e-3, 3e-2, 0.5], dtype=torch.float64)
    w = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    b = torch.randn(3, 1, 5, generator=g, dtype=torch.float64)
    opt = OPTIMIZERS[name]([w, b], lrs, **HYPER)
    singles = [[w[i].clone().requires_grad_(True), b[i].clone().requires_grad_(True)] for i in range(3)]
    refs = [torch_optimizer(name, ps, float(lr)) for ps, lr in zip(singles, lrs)]
    for _ in range(20):
        gw, gb = torch.randn(3, 4, 5, generator=g, dtype=torch.float64), torch.randn(3, 1, 5, generator=g, dtype=torch.float64)
        opt.step([gw, gb])
        for i, (ps, ref) in enumerate(zip(singles, refs)):
            ps[0].grad, ps[1].grad = gw[i].clone(), gb[i].clone()
            ref.step()
    for i, ps in enumerate(singles):
        assert torch.allclose(w[i], ps[0].detach(), rtol=1e-13, atol=1e-15)
        assert torch.allclose(b[i], ps[1].detach(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_functional_step_equals_the_in_place_step(name):
    """The unroll's differentiable step gives the in-place step's parameters (ε_in = 1e-16 under
    the root shifts Adam/RMSprop by far less than 1e-12 here)."""
    g = torch.Generator().manual_seed(1)
    lr = torch.tensor([1e-2, 2e-2], dtype=torch.float64)
    w = torch.randn(2, 3, 3, generator=g, dtype=torch.float64)
    opt = OPTIMIZERS[name]([w], lr, **HYPER)
    for _ in range(3):
        opt.step([torch.randn(2, 3, 3, generator=g, dtype=torch.float64)])
    grad = torch.randn(2, 3, 3, generator=g, dtype=torch.float64)
    new, _ = opt.functional_step(w.clone(), grad, opt.functional_state(0), lr)
    opt.step([grad])
    assert torch.allclose(new, w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_reset_member_with_zero_gradients_keeps_its_weights(name):
    """How the engine freezes a member: its state zeroed, its gradients 0 from then on — its
    weights must not move at all (the others do)."""
    w = torch.ones(3, 2, dtype=torch.float64)
    opt = OPTIMIZERS[name]([w], torch.full((3,), 0.1, dtype=torch.float64), **HYPER)
    opt.step([torch.ones(3, 2, dtype=torch.float64)])
    frozen = w[1].clone()
    opt.reset_members(torch.tensor([False, True, False]))
    for _ in range(3):
        opt.step([torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)])
    assert torch.equal(w[1], frozen)
    assert (w[[0, 2]] < frozen.min()).all()


def test_reset_members_zeroes_only_their_state():
    w = torch.zeros(2, 3, dtype=torch.float64)
    opt = OPTIMIZERS["adam"]([w], torch.full((2,), 0.1, dtype=torch.float64), **HYPER)
    opt.step([torch.ones(2, 3, dtype=torch.float64)])
    opt.reset_members(torch.tensor([True, False]))
    assert opt.state["exp_avg"][0][0].abs().max() == 0 and opt.state["exp_avg"][0][1].abs().min() > 0


def test_a_transposed_gradient_is_applied_element_for_element():
    """Gradients can come back in another memory layout (through a gradient penalty, transposed):
    the update must pair each gradient entry with its own parameter entry."""
    g = torch.Generator().manual_seed(2)
    w = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    ref = w.clone()
    grad = torch.randn(2, 4, 3, generator=g, dtype=torch.float64).transpose(1, 2)  # non-contiguous [2, 3, 4]
    OPTIMIZERS["adam"]([w], torch.full((2,), 0.1, dtype=torch.float64), **HYPER).step([grad])
    OPTIMIZERS["adam"]([ref], torch.full((2,), 0.1, dtype=torch.float64), **HYPER).step([grad.contiguous()])
    assert torch.equal(w, ref)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("block", [(1,), (2,), (1, 3), (16,), (128, 2)])
def test_a_member_s_update_does_not_depend_on_how_many_members_share_the_tensor(name, block):
    """Bit for bit, member i of N = 12 takes the step it takes in a block of 3 and alone, with one
    learning rate and with a grid of two: a multi-process run (each process a block of the members)
    and a solo run must hold the same bits. torch's fused Adam rounds an element in its vector body
    and in its scalar tail differently, so where a member sits in the stacked tensor matters unless
    the optimizer keeps it from mattering (12 × 400 draws: a slip shows within a few hundred)."""
    g = torch.Generator().manual_seed(3)
    n, draws = 12, 400
    for lrs in ([1e-3] * n, [1e-3, 1e-4] * (n // 2)):
        for _ in range(draws // 40):
            p, grad = (torch.randn(n, *block, generator=g) for _ in range(2))
            state = [torch.randn(n, *block, generator=g) * 1e-2, torch.rand(n, *block, generator=g) * 1e-4]
            outs = []
            for split in ([n], [3] * (n // 3), [1] * n):
                ws, starts = [], [0]
                for k in split:
                    starts.append(starts[-1] + k)
                for a, b in zip(starts, starts[1:]):
                    w = p[a:b].clone()
                    opt = OPTIMIZERS[name]([w], torch.tensor(lrs[a:b]), **HYPER)
                    for key, s in zip(opt.state_keys, state):
                        opt.state[key][0].copy_(s[a:b].abs() if key in ("exp_avg_sq", "square_avg") else s[a:b])
                    opt.t = 22
                    for _ in range(40):
                        opt.step([grad[a:b]])
                    ws.append(w)
                outs.append(torch.cat(ws))
            assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2]), (lrs[:2], block)
