"""``DivergenceWatch`` on hand-made losses and weights: the masks, the running sums, the report, the
fall-back to the snapshot, and its part of a checkpoint."""

import math

import torch

from ganlab.training.config import Member
from ganlab.training.divergence import DivergenceWatch

NAN, INF = math.nan, math.inf


class RecordingOptimizer:
    def __init__(self):
        self.reset = []

    def reset_members(self, dead):
        self.reset.append(dead.tolist())


def _watch(trains_generator=True):
    members = [Member(3, {}), Member(5, {"lr_d": 0.1}), Member(7, {})]
    params = {"g": {"w": torch.zeros(3, 2)}, "d": {"v": torch.zeros(3)}}
    opt = RecordingOptimizer()
    return DivergenceWatch(members, [4, 5, 6], params, [opt], trains_generator, torch.device("cpu")), params, opt


def test_the_masks_and_running_sums_follow_the_losses():
    w, _, _ = _watch()
    w.watch(1, torch.tensor([1.0, 2.0, 3.0]), torch.tensor([10.0, 20.0, 30.0]))
    w.watch(2, torch.tensor([5.0, NAN, 7.0]), torch.tensor([50.0, 60.0, INF]))  # members 1 and 2 diverge
    w.watch(3, torch.tensor([NAN, 1.0, 1.0]), torch.tensor([1.0, 1.0, 1.0]))  # member 0 too; 1 and 2 stay dead
    assert w.alive.tolist() == [False, False, False]
    assert w.diverged_at.tolist() == [3, 2, 2]
    # the losses of each member's diverging step (NaN written as −1 to compare)
    assert torch.equal(w.diverged_losses.nan_to_num(-1, posinf=INF), torch.tensor(
        [[-1, 1.0], [-1, 60.0], [7.0, INF]], dtype=torch.float64))
    # sums over each member's finite steps: member 0 steps 1 and 2, members 1 and 2 step 1
    assert w.running.tolist() == [[6.0, 2.0, 3.0], [60.0, 20.0, 30.0], [2.0, 1.0, 1.0]]
    assert w.mean_losses() == [(3.0, 30.0), (2.0, 20.0), (3.0, 30.0)]


def test_without_a_generator_only_d_losses_count():
    w, _, _ = _watch(trains_generator=False)
    w.watch(1, torch.tensor([1.0, 2.0, 3.0]), torch.full((3,), NAN))
    assert w.alive.all()
    means = w.mean_losses()
    assert [d for d, _ in means] == [1.0, 2.0, 3.0] and all(math.isnan(g) for _, g in means)


def test_dead_members_are_reported_once_and_fall_back_to_the_snapshot():
    w, params, opt = _watch()
    with torch.no_grad():
        params["g"]["w"] += 1.0
        params["d"]["v"] += 2.0
    w.remember()  # snapshot: g = 1, d = 2; running sums restart
    with torch.no_grad():
        params["g"]["w"] += 1.0
        params["d"]["v"] += 1.0
    w.watch(4, torch.tensor([1.0, NAN, 1.0]), torch.tensor([1.0, 1.0, 1.0]))
    new = w.freeze_dead()
    assert [(d.member, d.seed, d.step, d.hyper) for d in new] == [(5, 5, 4, {"lr_d": 0.1})]
    assert math.isnan(new[0].d_loss) and new[0].g_loss == 1.0
    assert params["g"]["w"].tolist() == [[2.0, 2.0], [1.0, 1.0], [2.0, 2.0]]
    assert params["d"]["v"].tolist() == [3.0, 2.0, 3.0]
    assert opt.reset == [[False, True, False]]
    w.mark(torch.tensor([True, True, False]), 6)  # member 2's samples are not finite
    assert [d.member for d in w.freeze_dead()] == [6] and [d.member for d in w.divergences] == [5, 6]
    assert w.diverged_at.tolist() == [-1, 4, 6]


def test_its_state_round_trips():
    w, params, _ = _watch()
    w.watch(1, torch.tensor([1.0, NAN, 1.0]), torch.tensor([2.0, 2.0, 2.0]))
    w.freeze_dead()
    state = w.state_dict()
    assert list(state) == ["alive", "diverged_at", "diverged_losses", "running", "snapshot", "divergences"]
    other, _, _ = _watch()
    other.load_state_dict(state)
    assert other.alive.tolist() == [True, False, True] and other.running.tolist() == w.running.tolist()
    assert [vars(d) for d in other.divergences] == state["divergences"]
