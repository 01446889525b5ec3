"""Checkpoint state (``training.checkpoint``): its keys, and a checkpoint written before the trainer
was split into pieces still loads and continues as that version continued it.

``data/checkpoint_9c60916.pt`` was written by ganlab at commit 9c60916 (the engine before the split)
with this file's ``_config()``, float64: 3 steps, an evaluation, member 1's weights set to NaN, 2
more steps, then ``state_dict()`` (key "state"); and, from there, that version's weights and
divergence report and metrics rows after 4 more steps and an evaluation (key "after"). Made by
those steps on an export of 9c60916 (``git archive 9c60916 ganlab``), the state copied through
``torch.save`` as soon as it was taken (on a CPU ``state_dict()``'s tensors alias the live ones)."""

import math
from pathlib import Path

import torch

from ganlab.models.mlp import MLPSpec
from ganlab.training import checkpoint
from ganlab.training.config import Runtime, TrainConfig
from ganlab.training.engine import Trainer
from ganlab.training.methods import make_method

OLD = Path(__file__).parent / "data" / "checkpoint_9c60916.pt"
F64 = Runtime(dtype="float64", progress=False)


def _config() -> TrainConfig:
    return TrainConfig(target="ring8", method=make_method("wgan-gp", batch_size=16, d_steps=2),
                       generator=MLPSpec(width=8, depth=2), discriminator=MLPSpec(width=8, depth=2),
                       seeds=(3, 5, 7), grid={"lr_d": (1e-4, 1e-3)}, eval_samples=200, evaluators=(),
                       final_evaluators=())


def test_the_state_holds_the_listed_keys_in_order():
    t = Trainer(_config(), F64)
    state = t.state_dict()
    assert tuple(state) == checkpoint.KEYS
    assert set(checkpoint.PER_MEMBER) < set(state)
    assert all(v.shape[0] == 6 for v in (*state["params_g"].values(), *state["params_d"].values()))
    assert state["running"].shape == (3, 6)


def test_a_checkpoint_of_the_engine_before_the_split_loads_and_continues_as_it_did():
    saved = torch.load(OLD, weights_only=True)
    assert tuple(saved["state"]) == checkpoint.KEYS  # the keys did not change
    t = Trainer(_config(), F64)
    t.load_state_dict(saved["state"])
    assert t.step == 5 and t.alive.tolist() == [True, False, True, True, True, True]
    for _ in range(4):
        t.train_step()
    rows = t.evaluate()
    after = saved["after"]
    assert str(rows) == str(after["rows"])  # mean losses since the checkpoint, alive flags (NaN-safe)
    for mine, theirs in ((t.params_g, after["params_g"]), (t.params_d, after["params_d"])):
        for k, v in theirs.items():
            assert float((mine[k].detach() - v).abs().max()) < 1e-12, k  # float64, to other CPUs' rounding
    assert str([vars(d) for d in t.divergences]) == str(after["divergences"])  # (NaN-safe)
    assert math.isnan(t.divergences[0].d_loss)
