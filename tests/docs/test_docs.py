"""The documentation says what the code does: the README's tour runs, the docs' tables come from
the code (exit codes, claims), every claim has a page, and the docstrings read as valid
reStructuredText after ``docs/_ext/ganlab_docs.py``'s clean-up. The full check is the docs build
(``.ci/run``: warnings are errors, every example executed); these are its fast parts."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

docutils_core = pytest.importorskip("docutils.core")
pytest.importorskip("sphinx")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import ganlab_docs  # noqa: E402

import ganlab  # noqa: E402
import ganlab.cli  # noqa: E402
from ganlab.verify import CLAIMS  # noqa: E402

README = (ROOT / "README.md").read_text()


def test_the_readme_fits_two_screens_and_keeps_no_run_logs():
    lines = README.splitlines()
    assert len(lines) <= 120, f"README.md has {len(lines)} lines; the issue allows 120"
    dated = [line for line in lines if re.search(r"\b20\d\d-\d\d-\d\d\b", line)]
    assert not dated, f"dated lab notes belong in docs/results: {dated}"


def test_the_readme_tour_runs_and_says_what_theorem_1_says(capsys):
    code = re.search(r"## A tour in Python\s+```python\n(.*?)```", README, re.S)
    assert code, "the README's Python tour is missing"
    namespace: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    c, from_jsd = (float(v) for v in out[1].split())
    # the second line prints C(G) = V(D*, G) by quadrature and -log 4 + 2 JSD: Theorem 1
    assert c == pytest.approx(from_jsd, abs=1e-9)
    assert -1.3863 < c < 0
    assert namespace["trainer"].step == namespace["cfg"].steps
    assert "modes_captured=" in out[2]


def test_the_exit_codes_the_docs_show_are_the_cli_s():
    codes = {int(c) for c, _ in ganlab_docs.exit_codes()}
    constants = {v for k, v in vars(ganlab.cli).items() if k.startswith("EXIT_")}
    assert codes == {0} | constants
    meanings = dict(ganlab_docs.exit_codes())
    assert meanings["130"].startswith("interrupted")
    assert "what was saved, and how to resume, is said" in meanings["5"]  # a continued line kept whole


def test_counts_are_read_from_the_registries():
    exact = sum(1 for c in CLAIMS.values() if c.kind == "exact")
    assert ganlab_docs._count("claims") == len(CLAIMS)
    assert (ganlab_docs._count("claims-exact"), ganlab_docs._count("claims-trained")) == (exact, len(CLAIMS) - exact)
    with pytest.raises(ValueError, match="unknown count 'clams'"):
        ganlab_docs._count("clams")


def _claims_on_pages() -> dict[str, set[str]]:
    pages = {}
    for page in (ROOT / "docs").rglob("*.md"):
        names = set()
        for m in re.finditer(r"```\{ganlab-claims\}([^\n]*)\n", page.read_text()):
            names.update(m.group(1).split())
        if names:
            pages[str(page.relative_to(ROOT))] = names
    return pages


def test_every_claim_has_a_page_and_every_page_names_real_claims():
    pages = _claims_on_pages()
    assert ganlab_docs.unpaged_claims(pages) == []
    unknown = {p: sorted(n - set(CLAIMS)) for p, n in pages.items() if n - set(CLAIMS)}
    assert not unknown, f"pages name claims that are not registered: {unknown}"
    assert ganlab_docs.unpaged_claims({"a": {"optimal_discriminator"}})[:1] == [
        n for n in CLAIMS if n != "optimal_discriminator"][:1]


def _rst_problems(text: str) -> list[str]:
    """Warnings and errors docutils reports on ``text`` (Sphinx's roles read as literals)."""
    text = re.sub(r":(?:py:)?(?:func|class|mod|data|meth|attr|obj|exc):`([^`]*)`", r"``\1``", text)
    doc = docutils_core.publish_doctree(text, settings_overrides={"report_level": 5, "halt_level": 5})
    return [m.astext() for m in doc.findall(lambda n: n.tagname == "system_message") if m["level"] >= 2]


def _docstrings():
    for info in pkgutil.walk_packages(ganlab.__path__, "ganlab."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        yield info.name, inspect.getdoc(module)
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", None) == info.name:
                yield f"{info.name}.{name}", inspect.getdoc(obj)
                if inspect.isclass(obj):
                    for attr, member in vars(obj).items():
                        if inspect.isfunction(member) and member.__doc__:
                            yield f"{info.name}.{name}.{attr}", inspect.getdoc(member)


def test_every_docstring_reads_as_valid_rst_after_the_clean_up():
    bad = {}
    for where, doc in _docstrings():
        if doc:
            problems = _rst_problems("\n".join(ganlab_docs.rst_safe(doc.splitlines())))
            if problems:
                bad[where] = problems[0]
    assert not bad, f"{len(bad)} docstrings are not valid reST after rst_safe, e.g. {list(bad.items())[:3]}"


@pytest.mark.parametrize("text, shown", [
    ("D*(x) = p_data/(p_data + p_g)", "D*(x) = p_data/(p_data + p_g)"),
    ("W1 = |θ| and |x − y|", "W1 = |θ| and |x − y|"),
    ("``MAX_EMD_POINTS``² pairs", "MAX_EMD_POINTS² pairs"),
    ("*emphasis* stays, **strong** too", "emphasis stays, strong too"),
])
def test_the_clean_up_keeps_what_a_formula_says(text, shown):
    safe = "\n".join(ganlab_docs.rst_safe([text]))
    assert not _rst_problems(safe)
    doc = docutils_core.publish_doctree(safe, settings_overrides={"report_level": 5})
    assert doc.astext() == shown


def test_an_indented_formula_under_a_sentence_becomes_a_literal_block():
    lines = ["The bound holds since", "    1 − BC^m ≤ TV ≤ √(1 − BC^{2m}),", "with BC the coefficient."]
    safe = ganlab_docs.rst_safe(lines)
    assert not _rst_problems("\n".join(safe))
    doc = docutils_core.publish_doctree("\n".join(safe), settings_overrides={"report_level": 5})
    blocks = list(doc.findall(lambda n: n.tagname == "literal_block"))
    assert [b.astext() for b in blocks] == ["1 − BC^m ≤ TV ≤ √(1 − BC^{2m}),"]
