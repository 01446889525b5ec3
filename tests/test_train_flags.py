"""``ganlab train``'s parser: booleans spelled ``--NAME`` / ``--no-NAME`` (the old ``--NAME true``
still read, with one line naming the new spelling), ``--help`` in groups with choices shown."""

import dataclasses

import pytest

from ganlab import cli
from ganlab.training.config import Runtime, TrainConfig
from ganlab.training.methods import MethodConfig


def _config(*flags):
    args = cli._parser().parse_args(["train", "--out", "x", *flags])
    return cli.build_config(args), cli.build_runtime(args)


def test_boolean_flags_reach_the_config_and_the_runtime(capsys):
    cfg, rt = _config()
    assert cfg.generator.batch_norm is False and rt.compile is False and rt.progress is True  # quick's defaults
    cfg, rt = _config("--g-batch-norm", "--no-d-bias", "--compile", "--no-progress")
    assert cfg.generator.batch_norm is True and cfg.discriminator.bias is False
    assert cfg.discriminator.batch_norm is False and cfg.generator.bias is True  # the other net untouched
    assert rt.compile is True and rt.progress is False
    cfg, rt = _config("--no-g-batch-norm", "--no-compile")
    assert cfg.generator.batch_norm is False and rt.compile is False
    assert capsys.readouterr().err == ""


def test_the_old_boolean_spelling_still_works_with_one_line(capsys):
    cfg, rt = _config("--g-batch-norm", "true", "--compile=yes", "--d-bias", "false", "--progress", "0")
    assert cfg.generator.batch_norm is True and cfg.discriminator.bias is False
    assert rt.compile is True and rt.progress is False
    err = capsys.readouterr().err.splitlines()
    assert err == ["note: `--g-batch-norm true` is spelled `--g-batch-norm` now",
                   "note: `--compile yes` is spelled `--compile` now",
                   "note: `--d-bias false` is spelled `--no-d-bias` now",
                   "note: `--progress 0` is spelled `--no-progress` now"]


@pytest.mark.parametrize("flags", [["--compile=maybe"], ["--no-compile", "true"], ["--g-batch-norm", "2"]])
def test_a_boolean_flag_takes_no_other_value(flags, capsys):
    with pytest.raises(SystemExit) as e:
        _config(*flags)
    assert e.value.code == 2


def _groups() -> dict[str, list[str]]:
    parser = cli._parser()
    train = next(a for a in parser._actions if a.dest == "command").choices["train"]
    return {g.title: [s for a in g._group_actions for s in a.option_strings] for g in train._action_groups}


def test_train_help_is_in_groups():
    groups = _groups()
    title = {name: text for name, text in cli.TRAIN_GROUPS.items()}
    assert set(title.values()) <= set(groups)
    where = {flag: t for t, flags in groups.items() for flag in flags}
    expect = {"--preset": "run", "--seeds": "run", "--out": "run", "--steps": "run",
              "--method": "method", "--loss": "method", "--lr-d": "method", "--gp-lambda": "method", "--batch": "method",
              "--g-width": "networks", "--d-batch-norm": "networks", "--no-d-batch-norm": "networks",
              "--noise-dim": "networks",
              "--target": "data", "--dataset-size": "data", "--data-dir": "data",
              "--eval-every": "evaluation", "--evaluators": "evaluation", "--snapshots": "evaluation",
              "--device": "runtime", "--compile": "runtime", "--no-progress": "runtime", "--threads": "runtime"}
    for flag, group in expect.items():
        assert where[flag] == title[group], flag
    # every field of the configuration has its flag in some group
    fields = {f.name for cls in (MethodConfig, TrainConfig, Runtime) for f in dataclasses.fields(cls)
              if "help" in f.metadata and f.metadata.get("flag", f.name) not in ("target_kwargs", "fixed_generator_kwargs")}
    flags = {f.metadata.get("flag") or f.name for cls in (MethodConfig, TrainConfig, Runtime)
             for f in dataclasses.fields(cls) if f.name in fields}
    assert {"--" + f.replace("_", "-") for f in flags} <= set(where)


def test_train_help_shows_choices_and_defaults(capsys):
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["train", "--help"])
    out = capsys.readouterr().out
    from ganlab.training.losses import LOSSES

    assert f"--loss {{{','.join(LOSSES)}}}" in out and "--optimizer {adam,rmsprop,sgd}" in out
    assert {"gan", "wasserstein", "hinge", "least_squares"} <= set(LOSSES)
    from ganlab.models.mlp import ACTIVATIONS, INITS

    assert f"--d-activation {{{','.join(ACTIVATIONS)}}}" in out and f"--g-init {{{','.join(INITS)}}}" in out
    assert "relu" in ACTIVATIONS and "orthogonal" in INITS
    assert "--compile, --no-compile" in out and "--g-batch-norm, --no-g-batch-norm" in out
    assert "--no-progress" in out and "(default: on)" in out


def test_under_torchrun_only_process_0_says_the_new_spelling(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")
    _, rt = _config("--compile", "true")
    assert rt.compile is True and capsys.readouterr().err == ""
