"""The experiments' "last decay_steps at lr/10" phase runs (once it changed nothing): weights equal
the undecayed run's up to the drop and differ after it."""

import pytest
import torch

from ganlab.experiments.common import lr_decay
from ganlab.experiments.critics import train_critics
from ganlab.experiments.discriminator import Settings, arms_1d, train_arms
from ganlab.theory.targets import make_target, mixture_1d
from ganlab.training.methods import MethodConfig
from ganlab.theory.pairs import shifted


def _tiny(decay_steps: int) -> Settings:
    return Settings(steps=8, seeds=2, width=8, batch=32, lr=1e-2, decay_steps=decay_steps, eval_samples=100,
                    history=(5, 6), history_samples=100)


def _discriminator_weights(decay_steps: int) -> tuple[dict, dict]:
    """D's weights before update 5 (the first at lr/10 with decay_steps 3) and after it."""
    seen = {}

    def record(step, t):
        seen[step] = {k: v.detach().clone() for k, v in t.params_d.items()}

    train_arms(arms_1d()[:2], _tiny(decay_steps), seed=0, record=record)
    return seen[5], seen[6]


def test_the_discriminator_experiment_s_decay_acts_from_its_first_step():
    before_plain, after_plain = _discriminator_weights(0)
    before_decay, after_decay = _discriminator_weights(3)
    for k in after_plain:
        assert torch.equal(before_plain[k], before_decay[k]), k  # updates 0–4 at lr in both
        assert not torch.equal(after_plain[k], after_decay[k]), k  # update 5 at lr/10


def test_the_critics_decay_changes_the_weights():
    p = make_target("mixture1d")
    fakes = [shifted(p, (0.5,)), mixture_1d()]
    method = MethodConfig(loss="wasserstein", generator_loss="wasserstein", gp_lambda=1.0, lr_d=1e-2, batch_size=32)
    plain = train_critics(p, fakes, method, steps=8, seed=0, width=8)
    decay = train_critics(p, fakes, method, steps=8, seed=0, width=8, decay_steps=3)
    assert decay.cfg.method.lr_schedule == "step" and decay.lr_schedule.factor(4) == 1.0
    assert decay.lr_schedule.factor(5) == decay.lr_schedule.factor(7) == 0.1
    for k in plain.params_d:  # the critic's output bias has no gradient (E f(x) − E f(y) ignores it)
        assert torch.equal(plain.params_d[k], decay.params_d[k]) == (k == "b2"), k


def test_a_decay_that_would_drop_twice_or_clash_is_refused():
    assert lr_decay(10, 0) == {}
    assert lr_decay(10, 5) == {"lr_schedule": "step", "lr_step_size": 5, "lr_gamma": 0.1}
    with pytest.raises(ValueError, match=r"decay_steps must be an integer in \[0, steps/2\] = \[0, 5\].*got 6"):
        lr_decay(10, 6)
    p = make_target("mixture1d")
    method = MethodConfig(loss="wasserstein", generator_loss="wasserstein", gp_lambda=1.0, lr_schedule="step",
                          lr_step_size=4)
    with pytest.raises(ValueError, match="decay_steps=2 sets the learning-rate schedule"):
        train_critics(p, [p], method, steps=8, seed=0, decay_steps=2)
