"""The sweep specification: parsing, cell expansion, shards, and a clear refusal of every bad config."""

import pytest

from ganlab.cli import main
from ganlab.sweep.spec import Shard, SweepConfigError, SweepSpec, override_keys
from ganlab.training.methods import grid_fields

from sweep_helpers import TINY, spec_text


def test_the_test_spec_expands_variant_major():
    spec = SweepSpec.from_text(spec_text())
    cells = spec.cells()
    assert [(c.index, c.target, c.label) for c in cells] == [
        (0, "ring8", "nonsaturating"), (1, "grid25", "nonsaturating"),
        (2, "ring8", "packed m=2 (nonsaturating)"), (3, "grid25", "packed m=2 (nonsaturating)")]
    assert [c.id for c in cells[:3]] == ["ring8__nonsaturating", "grid25__nonsaturating",
                                         "ring8__packed-m-2-nonsaturating"]
    cfg = cells[2].config
    assert cfg.target == "ring8" and cfg.seeds == (0, 1) and cfg.steps == 30
    assert cfg.method.pack == 2 and cfg.method.batch_size == 32 and cfg.generator.width == 16
    assert cfg.grid == {"lr_d": (1e-3, 2e-3)} and cfg.n_members == 4
    assert cfg.evaluators == ("modes", "w1") and cfg.eval_samples == 200
    assert cells[0].config.grid == {} and cells[0].config.n_members == 2


def test_a_preset_that_takes_unroll_picks_its_schedule_from_it():
    """As on the command line: metz-appendix alternates at K = 0 and switches to the unrolled
    schedule when a variant sets only ``unroll``."""
    text = """
[sweep]
name = "u"
description = "unroll on a preset that takes it"
preset = "metz-appendix"
targets = ["metz-ring8"]
seeds = 1
steps = 2

[[methods]]
label = "gan"

[[methods]]
label = "k5"
unroll = 5
"""
    gan, k5 = (c.config.method for c in SweepSpec.from_text(text).cells())
    assert (gan.schedule, gan.unroll) == ("alternating", 0)
    assert (k5.schedule, k5.unroll) == ("unrolled", 5)


def test_presets_and_overrides_compose():
    """The preset gives the base, the quick preset's method is picked by name, [defaults] apply
    first and a variant's own keys win; a per-variant steps beats the sweep's."""
    spec = SweepSpec.from_text("""
[sweep]
name = "x"
preset = "pacgan"
targets = ["grid25"]
seeds = [3, 7]
steps = 100
[defaults]
eval_every = 50
lr_g = 2e-4
[[methods]]
pack = 3
[[methods]]
preset = "quick"
method = "wgan-gp"
lr_g = 5e-4
steps = 40
dataset_size = "none"
""")
    pac, wgp = (c.config for c in spec.cells())
    assert pac.method.pack == 3 and pac.generator.width == 400 and pac.method.lr_g == 2e-4
    assert pac.steps == 100 and pac.eval_every == 50 and pac.dataset_size == 100_000 and pac.seeds == (3, 7)
    assert wgp.method.gp_lambda == 10 and wgp.method.lr_g == 5e-4 and wgp.steps == 40 and wgp.dataset_size is None
    assert spec.cells()[0].record()["budget"]["text"] == "0.1 of 400 epochs (100 of 400,000 steps, 0.025 % of the " \
                                                         "pacgan preset's budget)"


def test_seed_count_starts_at_seed_start():
    spec = SweepSpec.from_text(spec_text().replace("seeds = 2", "seeds = 3\nseed_start = 5"))
    assert spec.seeds == (5, 6, 7)


def test_every_shipped_protocol_parses():
    protocols = sorted((TINY.parent).glob("*.toml"))
    assert {p.stem for p in protocols} >= {"tiny", "quick", "veegan", "pacgan", "pacgan-10-epochs", "wgan-gp-toy"}
    for p in protocols:
        spec = SweepSpec.from_toml(p)
        assert spec.cells(), p


def test_quick_protocol_has_every_method_of_the_issue():
    spec = SweepSpec.from_toml(TINY.parent / "quick.toml")
    labels = {c.label for c in spec.cells()}
    assert labels == {"vanilla", "nonsaturating", "unrolled K=1 (nonsaturating)", "unrolled K=5 (nonsaturating)",
                      "packed m=2 (nonsaturating)", "packed m=3 (nonsaturating)", "packed m=4 (nonsaturating)",
                      "wgan", "wgan-gp"}
    assert len(spec.seeds) >= 10 and set(spec.targets) == {"ring8", "grid25"}


def test_override_keys_are_the_config_fields():
    keys = set(override_keys())
    assert {"pack", "lr_d", "batch_size", "eval_every", "steps", "dataset_size"} <= keys
    assert not {"target", "seeds", "method", "grid"} & keys
    assert set(grid_fields()) <= keys


# -- bad configs: each names the key and the value -----------------------------------------------------
BASE = spec_text()


def _swap(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


BAD = [
    (_swap('method = "nonsaturating"', 'method = "hinge"'), "unknown method 'hinge'; known:"),
    (_swap('method = "nonsaturating"', 'method = "nonsaturating"\npakc = 2'), "unknown key 'pakc'; did you mean 'pack'?"),
    (_swap("steps = 30", "steps = 30\nseedz = 3"), "[sweep]: unknown key 'seedz'"),
    (BASE + "\n[extra]\nx = 1\n", "top level: unknown key 'extra'"),
    (_swap('targets = ["ring8", "grid25"]', "targets = []"), "targets is empty"),
    (_swap('targets = ["ring8", "grid25"]', 'targets = ["ring8", "moon"]'), "unknown target 'moon'"),
    (_swap('targets = ["ring8", "grid25"]', 'targets = ["ring8", "ring8"]'), "targets repeats a name"),
    (_swap("seeds = 2", "seeds = 0"), "seeds must be at least 1, got 0"),
    (_swap("seeds = 2", "seeds = []"), "seeds is empty"),
    (_swap("seeds = 2", "seeds = [1, 1]"), "seeds repeats a seed"),
    (_swap("seeds = 2", "seeds = [1, 2]\nseed_start = 3"), "seed_start applies to a seed count"),
    (_swap("steps = 30", "steps = 0"), "steps must be an integer >= 1, got 0"),
    (_swap("steps = 30", 'steps = 30\ndtype = "float16"'), "unknown dtype 'float16'"),
    (_swap("lr_d = [1e-3, 2e-3]", "lr_d = []"), "grid.lr_d must be a non-empty list of numbers, got []"),
    (_swap("lr_d = [1e-3, 2e-3]", "pack = [1, 2]"), "unknown grid field 'pack'"),
    (_swap("lr_d = [1e-3, 2e-3]", "lr_d = [1e-3, 1e-3]"), "grid.lr_d repeats a value: [0.001, 0.001]"),
    (_swap("lr_d = [1e-3, 2e-3]", 'lr_d = [1e-3, "fast"]'), "grid.lr_d holds 'fast', not a finite number"),
    (_swap('method = "packed"', 'method = "packed"\nlr_d = 1e-3'), "lr_d is set both as a field and in grid.lr_d"),
    (_swap('method = "packed"', 'method = "packed"\npack = "two"'), "pack must be an integer, got 'two'"),
    (_swap('method = "packed"', 'method = "packed"\npack = 0'), "on target 'ring8': pack must be an integer >= 1, got 0"),
    (_swap('method = "packed"', 'method = "packed"\nlr_g = -1'), "lr_g must be a positive finite number, got -1.0"),
    (_swap('method = "packed"', 'method = "packed"\nbetas = [0.5]'), "betas must be two numbers"),
    (_swap("generator = { width = 16 }", 'generator = { width = 16, batch_norm = "yes" }'),
     "batch_norm must be true or false, got 'yes'"),
    (_swap("generator = { width = 16 }", "generator = { widht = 16 }"), "unknown key 'widht'; did you mean 'width'?"),
    (_swap('method = "packed"', 'method = "packed"\npreset = "pacgan"'), "preset 'pacgan' fixes its method"),
    (_swap('method = "packed"', 'method = "packed"\npreset = "fast"'), "unknown preset 'fast'"),
    (_swap('compare = ["lin2018:GAN"]', 'compare = ["lin2018:GAN9"]'), "unknown published result 'lin2018:GAN9'"),
    (_swap('method = "packed"', 'method = "nonsaturating"'), "both have the label 'nonsaturating'"),
    (_swap("eval_every = 10", 'eval_every = 10\nlabel = "x"'), "[defaults] cannot set 'label'"),
    (_swap('method = "packed"', 'method = "packed"\nevaluators = "modes"'), "evaluators must be a list, got 'modes'"),
    (_swap("name = \"test\"", ""), "name must be a non-empty string, got None"),
    (BASE.split("[[methods]]")[0], "no [[methods]] tables"),
    ("[sweep\nname = 1", "not valid TOML"),
    # every cell's configuration is judged whole at load time, as `ganlab train` judges its own
    (_swap('targets = ["ring8", "grid25"]', 'targets = ["ring8", "swissroll"]'),
     "target 'swissroll' is sample-only: it has no modes to count"),
    (_swap('evaluators = ["modes", "w1"]', 'evaluators = ["classifier_modes"]'),
     "on target 'ring8': evaluator 'classifier_modes' (in evaluators) does not apply to target 'ring8'"),
    (_swap('method = "packed"', 'method = "packed"\nfinal_evaluators = ["modes", "parzen"]'),
     "evaluator 'parzen' (in final_evaluators) does not apply to target 'ring8'"),
    (_swap('method = "nonsaturating"', 'method = "wgan"\ngp_lambda = 10.0'), "clip=0.01 with gp_lambda=10.0"),
    (_swap("lr_d = [1e-3, 2e-3]", "gp_lambda = [0.0, 1.0]").replace('method = "packed"', 'method = "wgan"'),
     "clip=0.01 with gp_lambda=1.0"),
]


@pytest.mark.parametrize("text,match", BAD, ids=[m for _, m in BAD])
def test_bad_config_is_refused_naming_the_problem(text, match):
    with pytest.raises(SweepConfigError) as e:
        SweepSpec.from_text(text, source="bad.toml")
    assert match in str(e.value)
    assert str(e.value).startswith("bad.toml")


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(SweepConfigError, match="sweep config '.*nope.toml' does not exist"):
        SweepSpec.from_toml(tmp_path / "nope.toml")


@pytest.mark.parametrize("argv,match", [
    (["--shard", "4/3"], "shard 4/3: need 1 <= i <= n"),
    (["--shard", "0/3"], "shard 0/3: need 1 <= i <= n (i is 1-based"),
    (["--shard", "three"], "shard 'three': expected I/N"),
    (["--threads", "0"], "threads must be an integer >= 1, got 0"),
    (["--threads", "100000"], "threads must be at most 1024"),
])
def test_bad_sweep_command_line_is_one_line_and_writes_nothing(tmp_path, spec_file, capsys, argv, match):
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec_file()), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_bad_config_through_the_command_line_is_one_line(tmp_path, spec_file, capsys):
    bad = spec_file(BASE.replace('method = "nonsaturating"', 'method = "hinge"'))
    assert main(["sweep", "run", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'hinge'" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_dry_run_lists_cells_and_shards_and_writes_nothing(tmp_path, spec_file, capsys):
    assert main(["sweep", "run", str(spec_file()), "--out", str(tmp_path / "out"), "--shard", "2/3", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [ln.startswith("*") for ln in lines] == [False, True, False, False]
    assert "shard 1/3" in lines[3] and not (tmp_path / "out").exists()


def test_shards_partition_the_cells():
    for n in (1, 2, 3, 7):
        owners = [[i for i in range(1, n + 1) if Shard(i, n).owns(k)] for k in range(20)]
        assert all(len(o) == 1 for o in owners), n
    assert [k for k in range(7) if Shard(1, 3).owns(k)] == [0, 3, 6]
    assert Shard.parse(" 2 / 3 ") == Shard(2, 3)
