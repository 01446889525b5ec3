"""The one coercion of outside values into configuration values: command-line strings and TOML /
JSON values, by the field's annotation; hand-written expected values."""

import json

import pytest

from ganlab.coerce import CoercionError, fields_from_data, from_data, from_text, to_bool


@pytest.mark.parametrize("text, tp, expected", [
    ("none", float | None, None),
    ("None", int | None, None),
    ("0.01", float | None, 0.01),
    ("-1e-3", float, -0.001),
    ("7", int, 7),
    ("on", bool, True),
    ("False", bool, False),
    ("0.5,0.999", tuple[float, float], (0.5, 0.999)),
    ("400, 400,200", tuple[int, ...], (400, 400, 200)),
    ("modes, w1", tuple[str, ...], ("modes", "w1")),
    ("", tuple[str, ...], ()),
    ("none", str, "none"),  # only an optional field reads none as None
    ("ring8", str | None, "ring8"),
])
def test_command_line_text(text, tp, expected):
    got = from_text(text, tp)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("text, tp, says", [
    ("x", int, "expected an integer, got 'x'"),
    ("1.5", int, "expected an integer, got '1.5'"),
    ("fast", float, "expected a number, got 'fast'"),
    ("maybe", bool, "expected true or false, got 'maybe'"),
    ("0.5,b", tuple[float, float], "expected a number, got 'b'"),
])
def test_bad_command_line_text_is_named(text, tp, says):
    with pytest.raises(CoercionError, match=f"^{says}$"):
        from_text(text, tp)


def test_to_bool_words():
    assert [to_bool(w) for w in ("true", "YES", " on ", "1")] == [True] * 4
    assert [to_bool(w) for w in ("false", "No", "off", "0")] == [False] * 4


@pytest.mark.parametrize("value, tp, expected", [
    (10, float, 10.0),  # TOML's 10 in a float field is 10.0
    ([0.5, 0.9], tuple[float, float], (0.5, 0.9)),
    ([1, 2], tuple[float, ...], (1.0, 2.0)),
    ("none", float | None, None),
    (None, int | None, None),
    ({"a": 1}, dict, {"a": 1}),
    (["modes"], tuple[str, ...], ("modes",)),
])
def test_toml_values(value, tp, expected):
    got = from_data(value, tp, "x")
    assert got == expected and type(got) is type(expected)
    if isinstance(got, tuple):
        assert [type(v) for v in got] == [type(v) for v in expected]


@pytest.mark.parametrize("value, tp, says", [
    (True, int, "k must be an integer, got True"),  # a bool is an int in Python, not here
    ("3", int, "k must be an integer, got '3'"),
    (False, float, "k must be a number, got False"),
    (1, bool, "k must be true or false, got 1"),
    ("ring8", tuple[str, ...], "k must be a list, got 'ring8'"),
    ([1, "a"], tuple[int, ...], r"k\[1\] must be an integer, got 'a'"),
    (3, dict, "k must be a table, got 3"),
    ("x", float | None, 'k must be a number \\(or "none"\\), got \'x\''),
])
def test_bad_toml_values_are_named(value, tp, says):
    with pytest.raises(CoercionError, match=f"^{says}$"):
        from_data(value, tp, "k")


def test_saved_numbers_stay_as_written():
    """A config.json read back keeps an int in a float field an int: its identity then hashes as it
    did when it was saved (10 and 10.0 are different JSON)."""
    got = from_data(10, float, "gp_lambda", saved=True)
    assert got == 10 and type(got) is int
    assert json.dumps(from_data([0, 0.9], tuple[float, float], "betas", saved=True)) == "[0, 0.9]"


def test_a_saved_config_with_int_valued_floats_keeps_its_identity():
    import dataclasses

    from ganlab.training.config import TrainConfig

    cfg = TrainConfig()
    cfg = dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, gp_lambda=10, betas=(0, 0.9)))
    saved = json.loads(json.dumps({**cfg.identity(), "steps": cfg.steps}))
    back = TrainConfig.from_dict(saved)
    assert back.identity_sha256() == cfg.identity_sha256() and back.method.betas == (0, 0.9)


def test_fields_from_data_leaves_unknown_keys_to_the_caller():
    from ganlab.training.methods import MethodConfig

    got = fields_from_data(MethodConfig, {"betas": [0.5, 0.999], "nonsense": [1]}, "method")
    assert got == {"betas": (0.5, 0.999), "nonsense": [1]}
    with pytest.raises(CoercionError, match=r"^method: d_steps must be an integer, got 1.5$"):
        fields_from_data(MethodConfig, {"d_steps": 1.5}, "method")


def test_the_command_line_and_a_sweep_give_the_same_values():
    """One coercion: a field given as a flag and as a sweep's TOML value ends as the same value."""
    from ganlab import cli
    from ganlab.sweep.spec import SweepSpec

    args = cli._parser().parse_args(["train", "--out", "x", "--betas", "0.5,0.9", "--clip", "none", "--gp-lambda",
                                     "10", "--d-steps", "5", "--evaluators", "modes,w1"])
    flag = cli.build_config(args)
    spec = SweepSpec.from_text('[sweep]\nname = "t"\ntargets = ["ring8"]\nseeds = 4\n[[methods]]\nmethod = '
                               '"nonsaturating"\nbetas = [0.5, 0.9]\nclip = "none"\ngp_lambda = 10\nd_steps = 5\n'
                               'evaluators = ["modes", "w1"]\n')
    toml = spec.cells()[0].config
    for name in ("betas", "clip", "gp_lambda", "d_steps"):
        a, b = getattr(flag.method, name), getattr(toml.method, name)
        assert a == b and type(a) is type(b), name
    assert flag.evaluators == toml.evaluators == ("modes", "w1")
