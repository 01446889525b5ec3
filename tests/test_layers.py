"""The package's layers import only downward, and no two packages import each other.

Every module's imports are read from its source (``ast``): module-level, function-level and
``TYPE_CHECKING`` imports alike, since a function-level import hides a cycle from Python but not
from a reader. Each module belongs to the layer of its package (or of itself, for a top-level
module); it may import its own layer and the layers below, never one above. Within a layer, the
graph of package-to-package imports must have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ganlab"

# bottom to top: theory → data/models → training/metrics → experiments → verify/sweep → plots → cli
LAYERS: tuple[tuple[str, ...], ...] = (
    ("validation", "coerce", "command_line", "rng"),  # leaves every layer may use
    ("theory",),
    ("data", "models"),
    ("metrics", "training"),
    ("experiments",),
    ("verify", "sweep"),
    ("plots",),
    ("cli", "__main__", "sweep.__main__"),  # entry points
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """The layer unit of a dotted module name: its longest prefix named in LAYERS (``ganlab.sweep.cli``
    → ``sweep``; ``ganlab.sweep.__main__`` → itself)."""
    parts = module.split(".")[1:]  # without "ganlab"
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in RANK:
            return ".".join(parts[:k])
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS in {Path(__file__).name}")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported ganlab module) for every import statement anywhere in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "ganlab"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "ganlab":
                continue
            if base == "ganlab":  # `from ganlab import verify`: the names are the modules
                out += [(node.lineno, f"ganlab.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, base))
    return out


def upward_imports(module: str, source: str, is_package: bool = False) -> list[str]:
    """One line per import of ``module`` from a layer above its own."""
    own = unit_of(module)
    bad = []
    for line, target in imports_of(module, source, is_package):
        if target == "ganlab":
            continue  # the root package's __init__ (it imports nothing)
        other = unit_of(target)
        if RANK[other] > RANK[own]:
            bad.append(f"{module}:{line} imports {target} ({other}, layer {RANK[other]}) from layer {RANK[own]} ({own})")
    return bad


def package_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _modules() -> list[tuple[str, str, bool]]:
    return [(module_name(p), p.read_text(), p.name == "__init__.py") for p in sorted(PACKAGE.rglob("*.py"))]


def test_every_module_imports_only_its_layer_and_below():
    bad = [line for m, src, pkg in _modules() if m != "ganlab" for line in upward_imports(m, src, pkg)]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_two_packages_import_each_other():
    edges: dict[str, set[str]] = {}
    for m, src, pkg in _modules():
        if m == "ganlab":
            continue
        for _, target in imports_of(m, src, pkg):
            if target != "ganlab" and unit_of(target) != unit_of(m):
                edges.setdefault(unit_of(m), set()).add(unit_of(target))
    assert package_cycles(edges) == []


def test_every_package_is_in_a_layer():
    for m, _, _ in _modules():
        if m != "ganlab":
            unit_of(m)  # raises naming the module


# -- the checker itself fails on what it must catch ---------------------------------------------------
@pytest.mark.parametrize("module, source, pkg", [
    ("ganlab.theory.gan", "from ..training.engine import Trainer", False),  # module level
    ("ganlab.experiments.duality", "def f():\n    from ..verify.exact import CLAIMS\n", False),  # in a function
    ("ganlab.data.images", "import typing\nif typing.TYPE_CHECKING:\n    import ganlab.metrics.images\n", False),
    ("ganlab.sweep.cli", "from .. import cli", False),  # `from .. import NAME`: NAME is the module
    ("ganlab.training", "from ..plots import folders", True),  # a package's __init__
])
def test_a_planted_upward_import_is_caught(module, source, pkg):
    assert len(upward_imports(module, source, pkg)) == 1


@pytest.mark.parametrize("module, source, pkg", [
    ("ganlab.verify.trained", "from ..experiments.common import mean_se", False),
    ("ganlab.training.engine", "from . import losses\nfrom ..rng import Streams", False),
    ("ganlab.sweep.__main__", "from ..cli import main", False),
    ("ganlab.theory", "from .pairs import shifted", True),
])
def test_a_downward_or_sideways_import_passes(module, source, pkg):
    assert upward_imports(module, source, pkg) == []


def test_a_cycle_between_two_packages_is_caught():
    assert package_cycles({"verify": {"experiments"}, "experiments": {"verify", "theory"}}) == [["experiments", "verify"]]
    assert package_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert package_cycles({"verify": {"experiments"}, "experiments": {"theory"}}) == []


def test_no_package_code_looks_for_the_lab_s_files():
    """Data folders come from an argument, an environment variable or a config file: no module finds
    files from where it lies (``__file__``) or names the lab's shared folder."""
    bad = [f"{m}: {what}" for m, src, _ in _modules() for what in ("__file__", "shared/data", '"shared"')
           if what in src]
    assert not bad, bad
