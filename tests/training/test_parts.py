"""Parts describe themselves: ``MethodConfig`` gathers every registered loss's and regulariser's
fields (so flags, sweep keys and grid fields follow), ``describe`` asks the parts for the label,
and a part's late field stays out of a saved identity at its default."""

import dataclasses

import pytest

from ganlab.training.config import TrainConfig, method_to_dict
from ganlab.training.losses import LOSSES
from ganlab.training.methods import MethodConfig, describe, grid_fields, make_method
from ganlab.training.regularisers import REGULARISERS


def _parts():
    return [*LOSSES.values(), *REGULARISERS.values()]


def test_every_part_field_is_a_method_field_with_its_metadata():
    fields = {f.name: f for f in dataclasses.fields(MethodConfig)}
    for part in _parts():
        for pf in part.fields:
            f = fields[pf.name]
            assert f.default == pf.default and f.metadata["help"] == pf.help, pf.name
            assert f.metadata["grid"] == pf.grid and (pf.name in grid_fields()) == pf.grid
            assert (pf.name in MethodConfig.LATE_FIELDS) == pf.late


def test_loss_and_generator_loss_choices_are_the_registered_ones():
    fields = {f.name: f for f in dataclasses.fields(MethodConfig)}
    assert fields["loss"].metadata["choices"] == tuple(LOSSES)
    assert set(fields["generator_loss"].metadata["choices"]) == {g for loss in LOSSES.values() for g in loss.generators}


def test_each_regulariser_is_said_in_the_label_unless_its_loss_names_it():
    for reg in REGULARISERS.values():
        if reg.name == "weight_clipping":
            on = make_method("nonsaturating", clip=0.5)
        else:
            on = make_method("nonsaturating", **{reg.weight: 2.0})
        assert describe(on) == f"nonsaturating + {reg.label(on, {})}"
        assert describe(on, {reg.weight: (0.0, 1.0)}).endswith(f" + {reg.label(on, {reg.weight: (0.0, 1.0)})}")
    assert describe(make_method("wgan")) == "wgan" and describe(make_method("wgan-gp")) == "wgan-gp"


def test_a_late_part_field_is_saved_only_off_its_default():
    late = [pf for part in _parts() for pf in part.fields if pf.late]
    saved = method_to_dict(MethodConfig())
    for pf in late:
        assert pf.name not in saved
    for pf in (pf for part in _parts() for pf in part.fields if not pf.late):  # gp_lambda, clip: always saved
        assert pf.name in saved


@pytest.mark.parametrize("name", ["gp_lambda", "clip"])
def test_a_part_field_is_validated_with_its_name(name):
    with pytest.raises(ValueError, match=f"{name} must be a"):
        TrainConfig(method=MethodConfig(**{name: -1.0}))


def test_a_gridded_late_field_round_trips_through_the_identity():
    """A part's late grid field (absent from the saved method at its default) can be gridded: the
    identity lists it per member and rebuilds the same configuration."""
    for pf in (pf for part in _parts() for pf in part.fields if pf.late and pf.grid):
        cfg = TrainConfig(method=MethodConfig(), seeds=(0, 1), grid={pf.name: (0.0, 1.0)})
        ident = cfg.identity()
        assert pf.name not in ident["method"] and [m[pf.name] for m in ident["members"]] == [0.0, 0.0, 1.0, 1.0]
        assert TrainConfig.from_dict({**ident, "steps": cfg.steps}) == cfg
