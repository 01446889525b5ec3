"""``assemble``: one place turns a configuration into target, data source, G, D and parts; a run
builds its target once; pack size becomes widths and row counts in ``Packing`` alone."""

import dataclasses

import pytest
import torch

from ganlab.data.sources import TargetSource
from ganlab.theory import targets as targets_module
from ganlab.training import runs
from ganlab.training.assembly import assemble
from ganlab.training.config import Runtime
from ganlab.training.engine import Trainer
from ganlab.training.methods import make_method
from ganlab.training.packing import Packing
from ganlab.training.resources import estimate_memory

from helpers import small

RT = Runtime(progress=False)


def test_packing_puts_slot_j_of_pack_b_at_row_j_times_b_plus_b():
    """Written out with loops: pack b of member i is rows b, B + b, …, (m − 1)·B + b of its
    minibatch, concatenated along the first feature axis (PacGAN: m separately generated batches)."""
    p = Packing(m=3, batch_size=4)
    assert p.rows == 12 and p.d_input((2,)) == (6,) and p.d_input((1, 28, 28)) == (3, 28, 28)
    x = torch.arange(2 * 12 * 2 * 3, dtype=torch.float64).reshape(2, 12, 2, 3)  # [N, m·B, C, W]
    packed = p(x)
    assert packed.shape == (2, 4, 6, 3)
    for i in range(2):
        for b in range(4):
            want = torch.cat([x[i, j * 4 + b] for j in range(3)], dim=0)
            assert torch.equal(packed[i, b], want)


def test_assemble_sizes_the_nets_from_the_data_and_the_pack():
    cfg = small(make_method("packed", pack=3), seeds=(1, 2))
    parts = assemble(cfg, RT)
    assert parts.shape == (2,) and parts.target.n_modes == 8
    assert parts.D.in_shape == (6,) and parts.D.out_shape == (1,)
    assert parts.G.in_shape == (cfg.noise_dim,) and parts.G.out_shape == (2,)
    assert parts.packing.rows == 3 * cfg.method.batch_size
    fixed = assemble(dataclasses.replace(cfg, fixed_generator="ring8"), RT)
    assert fixed.G is None and isinstance(fixed.fake_source, TargetSource)


def test_the_trainer_trains_the_assembled_parts():
    cfg = small(make_method("nonsaturating"), seeds=(1, 2))
    parts = assemble(cfg, RT)
    t = Trainer(cfg, RT, parts=parts)
    assert t.G is parts.G and t.D is parts.D and t.source is parts.source and t.target is parts.target
    assert t.regularisers is parts.regularisers and t.schedule is parts.schedule
    other = dataclasses.replace(cfg, seeds=(1, 3))
    with pytest.raises(ValueError, match="parts were assembled from another configuration"):
        Trainer(other, RT, parts=parts)


def test_a_run_builds_its_target_once(tmp_path, monkeypatch):
    """From ``runs.start`` to the first step the target is built once (it was built three times:
    for the evaluator check, the data shape and the trainer)."""
    cfg = small(make_method("nonsaturating"), seeds=(1,))
    calls = []
    ring = targets_module.TARGETS["ring8"]
    monkeypatch.setitem(targets_module.TARGETS, "ring8", lambda **kw: calls.append(kw) or ring(**kw))
    session = runs.start(cfg, str(tmp_path / "run"), RT)
    try:
        session.trainer.train_step()
    finally:
        session.close()
    assert len(calls) == 1


def test_the_memory_estimate_counts_the_parameters_the_trainer_initialises():
    """Parameters, gradients, optimizer state and snapshot: six copies of every member's parameters,
    counted here from the tensors the trainer holds (a packed D is wider than an unpacked one)."""
    for pack in (1, 4):
        cfg = small(make_method("packed", pack=pack), seeds=(1, 2, 3))
        parts = assemble(cfg, RT)
        t = Trainer(cfg, RT, parts=parts)
        numel = sum(p.numel() for p in (*t.params_g.values(), *t.params_d.values()))  # all 3 members
        est = estimate_memory(parts, RT, n_members=5)
        assert est.parts["parameters, gradients, optimizer state, snapshot"] == 5 * (numel // 3) * 4 * 6


def test_assemble_refuses_class_labels_the_data_lacks():
    cfg = small(make_method("nonsaturating"), seeds=(1,), classes=3)  # ring8 has 8 components
    with pytest.raises(ValueError, match="classes=3, but the data has 8 class labels"):
        Trainer(cfg, RT)
