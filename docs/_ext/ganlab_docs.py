"""Sphinx directives and a role that take what the docs say about ganlab from the code at build time.

Counts, registries, flags and exit codes are read from the package when the docs are built, never
copied by hand, so a claim, preset or flag added or renamed shows up (or breaks the build) at once:

* ``:ganlab-count:`claims``` — a count: ``claims``, ``claims-exact``, ``claims-trained`` or the
  entries of a registry (``REGISTRIES``);
* ``.. ganlab-claims::`` — the table of every ``ganlab verify`` claim with an anchor per claim
  (``claim-<name>``), its kind and the function that checks it; with names as arguments, only
  those (each must be registered) and links to the full table's anchors;
* ``.. ganlab-registry:: presets`` — a registry's names with the first line of each entry's
  docstring (see ``REGISTRIES``);
* ``.. ganlab-fields:: ganlab.training.methods.MethodConfig`` — a config dataclass's fields with
  default and help text (the same metadata ``ganlab train``'s flags are made from);
* ``.. ganlab-help:: train`` — the output of ``ganlab train --help``;
* ``.. ganlab-exit-codes::`` — the exit-status table of ``ganlab --help`` (``ganlab.cli``);
* ``.. ganlab-test:: tests/theory/test_gan.py::test_name`` — the test's source, inline (a test
  that moves or is renamed fails the build).

A registered claim that no page's ``ganlab-claims`` list names is a warning (so an error under
``-W``): every claim has its page. And the package's docstrings, prose written for ``help()``, are
made valid reStructuredText on their way into autodoc (``rst_safe``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import io
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Parser as RstParser
from docutils.utils import new_document
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]


def _claims() -> dict[str, Any]:
    from ganlab.verify import CLAIMS

    return CLAIMS


def _registry(path: str) -> dict[str, Any]:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


# name → the dotted path of the registry dict it lists
REGISTRIES = {
    "presets": "ganlab.training.presets.PRESETS",
    "methods": "ganlab.training.methods.METHODS",
    "targets": "ganlab.theory.targets.TARGETS",
    "losses": "ganlab.training.losses.LOSSES",
    "regularisers": "ganlab.training.regularisers.REGULARISERS",
    "schedules": "ganlab.training.schedules.SCHEDULES",
    "lr-schedules": "ganlab.training.lr_schedules.LR_SCHEDULES",
    "optimizers": "ganlab.training.optim.OPTIMIZERS",
    "evaluators": "ganlab.training.evaluators.EVALUATORS",
    "models": "ganlab.models.MODELS",
    "experiments": "ganlab.experiments.EXPERIMENTS",
    "datasets": "ganlab.data.images.DATASETS",
}


def _count(what: str) -> int:
    if what == "claims":
        return len(_claims())
    if what.startswith("claims-"):
        return sum(c.kind == what.removeprefix("claims-") for c in _claims().values())
    if what in REGISTRIES:
        return len(_registry(REGISTRIES[what]))
    raise ValueError(f"unknown count {what!r}: claims, claims-exact, claims-trained or one of {sorted(REGISTRIES)}")


def count_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    try:
        return [nodes.Text(str(_count(text.strip())))], []
    except ValueError as e:
        return [], [inliner.reporter.error(str(e), line=lineno)]


def _first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _qualname(obj: Any) -> str | None:
    """module.name of a function or class defined in ganlab (None for anything else)."""
    target = obj if inspect.isfunction(obj) or inspect.isclass(obj) else type(obj)
    module = getattr(target, "__module__", "") or ""
    if not module.startswith("ganlab") or "<" in getattr(target, "__qualname__", "<"):
        return None
    return f"{module}.{target.__qualname__}"


def _list_table(header: list[str], rows: list[list[str]], widths: str | None = None) -> list[str]:
    """rst list-table lines (cells are rst)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    if widths:
        lines.insert(2, f"   :widths: {widths}")
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return lines


def parse_rst(directive: SphinxDirective, lines: list[str]) -> list[nodes.Node]:
    """``lines`` parsed as reStructuredText whatever the page's own markup (a MyST page's nested
    parse would read them as Markdown), with their labels registered in the page (as MyST's
    eval-rst does)."""
    document = directive.state.document
    sub = new_document(document["source"], document.settings)
    sub.reporter = document.reporter
    RstParser().parse("\n".join(lines), sub)
    for node in sub.findall(nodes.target):
        if node["names"]:
            document.note_explicit_target(node, node)
    return list(sub.children)


class _RstDirective(SphinxDirective):
    def rst(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        try:
            lines = self.rst()
        except (ValueError, KeyError, ImportError, AttributeError) as e:
            raise self.error(f"{self.name}: {e}") from None
        return parse_rst(self, lines)


def _claim_doc(claim: Any) -> str:
    return _escape_inline(_first_line(claim.fn))


class ClaimsDirective(_RstDirective):
    """Every claim (or the named ones) with its kind and the function that checks it."""

    optional_arguments = 100
    has_content = False

    def rst(self) -> list[str]:
        claims = _claims()
        full = not self.arguments
        names = list(claims) if full else self.arguments
        for n in names:
            if n not in claims:
                raise ValueError(f"no claim {n!r} is registered (ganlab.verify.CLAIMS)")
        if not full:  # remembered: every claim must be on some page (``_check_every_claim_has_a_page``)
            _pages(self.env).setdefault(self.env.docname, set()).update(names)
        rows = []
        for n in names:
            c = claims[n]
            fn = f":func:`{c.fn.__module__}.{c.fn.__name__}`"
            if full:
                rows.append([f".. _claim-{n.replace('_', '-')}:\n\n       ``{n}``", c.kind, fn, _claim_doc(c)])
            else:
                rows.append([f":ref:`{n} <claim-{n.replace('_', '-')}>`", c.kind, fn, _claim_doc(c)])
        table = _list_table(["claim", "kind", "checked by", "what it checks"], rows, "20 8 30 42")
        if not full:
            return table
        return [".. py:data:: ganlab.verify.CLAIMS", "",
                f"   The registered claims: {len(rows)}, read from the code at build time.", "", *table, "",
                "``ganlab verify`` runs them all; ``ganlab verify --kind exact`` the exact ones."]


def _value(v: Any) -> str:
    if callable(v) and hasattr(v, "__name__"):
        return v.__name__
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def _describe(entry: Any) -> str:
    """A registry entry in one line: a config's fields off their defaults, a lambda's body, or the
    first paragraph of its docstring."""
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        fields = dataclasses.fields(entry)
        if all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING  # type: ignore[misc]
               for f in fields):
            changed = [f"{f.name}={getattr(entry, f.name)!r}" for f in fields
                       if f.default is not dataclasses.MISSING and getattr(entry, f.name) != f.default]
            return "``" + ", ".join(changed) + "``" if changed else "the defaults"
        return "``" + ", ".join(f"{f.name}={_value(getattr(entry, f.name))}" for f in fields) + "``"
    if getattr(entry, "__name__", "") == "<lambda>":
        body = re.search(r"lambda[^:]*:\s*(.*?),?\s*$", inspect.getsource(entry).strip())
        return f"``{body.group(1)}``" if body else ""
    return _first_line(entry)


class RegistryDirective(_RstDirective):
    required_arguments = 1

    def rst(self) -> list[str]:
        which = self.arguments[0]
        if which not in REGISTRIES:
            raise ValueError(f"unknown registry {which!r}: one of {sorted(REGISTRIES)}")
        path = REGISTRIES[which]
        rows = []
        for name, entry in _registry(path).items():
            qual = _qualname(entry)
            where = f":py:obj:`{qual}`" if qual else "—"
            what = _escape_inline(_describe(entry)) or "—"
            rows.append([f"``{name}``", where, what])
        # the registry's own entry in the index (autodoc leaves module data without a doc comment out)
        return [f".. py:data:: {path}", "", f"   The registry: {len(rows)} entries, read from the code at build time.", "",
                *_list_table(["name", "defined by", "what it is"], rows, "18 32 50")]


class FieldsDirective(_RstDirective):
    required_arguments = 1

    def rst(self) -> list[str]:
        cls = _registry(self.arguments[0])
        rows = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = repr(f.default)
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = repr(f.default_factory())  # type: ignore[misc]
            else:
                default = "(required)"
            if len(default) > 40:
                default = default[:37] + "..."
            help_ = _escape_inline(f.metadata.get("help", ""))
            choices = f.metadata.get("choices")
            if choices:
                help_ += " (" + ", ".join(f"``{c}``" for c in choices) + ")"
            grid = " Grid-able." if f.metadata.get("grid") else ""
            rows.append([f"``{f.name}``", f"``{default}``", (help_ + grid).strip() or "—"])
        return _list_table(["field", "default", "meaning"], rows, "20 20 60")


def _help_text(argv: list[str]) -> str:
    from ganlab.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([*argv, "--help"])
        except SystemExit as e:
            if e.code not in (0, None):
                raise ValueError(f"ganlab {' '.join(argv)} --help exited {e.code}") from None
    return out.getvalue()


class HelpDirective(SphinxDirective):
    optional_arguments = 10

    def run(self) -> list[nodes.Node]:
        try:
            text = _help_text(self.arguments)
        except ValueError as e:
            raise self.error(str(e)) from None
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def exit_codes() -> list[tuple[str, str]]:
    """(code, meaning) pairs from the "Exit status" block of ``ganlab.cli``'s docstring."""
    import ganlab.cli

    doc = ganlab.cli.__doc__ or ""
    match = re.search(r"Exit status[^\n]*\n((?:[ \t]+\S[^\n]*\n?)+)", doc)
    if not match:
        raise ValueError("ganlab.cli's docstring has no 'Exit status' block")
    codes: list[tuple[str, str]] = []
    for line in match.group(1).splitlines():
        head = re.match(r"\s+(\d+)\s+(.*)", line)
        if head:
            codes.append((head.group(1), head.group(2).strip()))
        elif codes:
            codes[-1] = (codes[-1][0], codes[-1][1] + " " + line.strip())
    return codes


class ExitCodesDirective(_RstDirective):
    def rst(self) -> list[str]:
        rows = [[f"``{c}``", _escape_inline(m)] for c, m in exit_codes()]
        return _list_table(["exit status", "meaning"], rows, "15 85")


class TestDirective(SphinxDirective):
    """The source of one test, ``tests/path.py::test_name`` (a class method as ``Class.test``)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        path, _, name = self.arguments[0].partition("::")
        file = ROOT / path
        if not file.is_file() or not name:
            raise self.error(f"ganlab-test: no test file {path!r} (or no ::name)")
        return parse_rst(self, [
            f".. literalinclude:: /{Path('..') / path}",
            f"   :pyobject: {name}",
            f"   :caption: ``{path}::{name}``",
            "",
        ])


def _pages(env) -> dict[str, set[str]]:
    """docname → the claims its ``ganlab-claims`` lists name."""
    if not hasattr(env, "ganlab_claim_pages"):
        env.ganlab_claim_pages = {}
    return env.ganlab_claim_pages


def _purge(app, env, docname) -> None:
    _pages(env).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    _pages(env).update({d: c for d, c in _pages(other).items() if d in docnames})


def unpaged_claims(pages: dict[str, set[str]]) -> list[str]:
    """Registered claims that no page lists (each should have its theory page)."""
    listed = set().union(*pages.values()) if pages else set()
    return [n for n in _claims() if n not in listed]


def _check_every_claim_has_a_page(app, env) -> None:
    missing = unpaged_claims(_pages(env))
    if missing:
        logger.warning("claims registered in ganlab.verify.CLAIMS but on no page's ganlab-claims list: %s",
                       ", ".join(missing))


# -- docstrings written as plain prose, read as reStructuredText -------------------------------------
# The package's docstrings are prose for a terminal (``help()``): formulas with * and |x|, file
# trees and formulas indented under a sentence. Rather than rewrite them for Sphinx, autodoc reads
# them through this: stray * and | are escaped, an indented block under a paragraph becomes a
# literal block, and a bullet list gets the blank line reStructuredText needs before it.
_SPANS = re.compile(r"``.+?``|:[\w:.-]+:`[^`]+`|`[^`]+`_{0,2}|(?<![\w*\\])\*\*?(?=[^\s*])[^*]*?(?<=[^\s*\\])\*\*?(?![\w*])")
_BULLET = re.compile(r"^\s*(?:[*+-]|\d+\.)\s+\S")
_FIELD = re.compile(r"^\s*:[^:`]+:(?:\s|$)")  # a field list (napoleon's :param x: output)
_AFTER_LITERAL_OK = set(" \t-.,:;!?\\/'\")]}>")


def _escape_inline(line: str) -> str:
    out, pos = [], 0
    bullet = _BULLET.match(line)
    start = len(line) - len(line.lstrip()) + 1 if bullet and line.lstrip()[0] in "*+-" else 0
    out.append(line[:start])
    pos = start
    for m in _SPANS.finditer(line, start):
        out.append(line[pos:m.start()].replace("*", "\\*").replace("|", "\\|"))
        span = m.group(0)
        out.append(span)
        pos = m.end()
        if span.startswith("``") and pos < len(line) and line[pos] not in _AFTER_LITERAL_OK:
            out.append("\\ ")
    out.append(line[pos:].replace("*", "\\*").replace("|", "\\|"))
    return "".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_safe(lines: list[str]) -> list[str]:
    """The docstring's lines made valid reStructuredText (see above); valid input is unchanged
    except for escapes of stray * and |."""
    out: list[str] = []
    literal_indent: int | None = None  # inside a literal block indented deeper than this
    list_indent: int | None = None  # continuation indent of the current bullet item
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        ind = _indent(line)
        prev = next((p for p in reversed(out) if p.strip()), None)
        prev_blank = bool(out) and not out[-1].strip()
        if literal_indent is not None:
            if ind > literal_indent:
                out.append(line)
                continue
            literal_indent = None
            if not prev_blank:
                out.append("")
        if prev is not None and prev.rstrip().endswith("::"):
            literal_indent = _indent(prev)
            out.append(line)
            continue
        if _BULLET.match(line) or _FIELD.match(line):
            if prev is not None and not prev_blank and list_indent is None:
                out.append("")
            list_indent = ind + 1 if _FIELD.match(line) else ind + len(line.lstrip().split()[0]) + 1
            out.append(_escape_inline(line))
            continue
        if list_indent is not None and ind >= list_indent:
            out.append(_escape_inline(line))
            continue
        if list_indent is not None and not prev_blank:
            out.append("")
        list_indent = None
        if prev is not None and ind > _indent(prev):  # a formula or a file tree under a sentence
            out += [*([] if prev_blank else [""]), " " * _indent(prev) + "::", ""]
            literal_indent = _indent(prev)
            out.append(line)
            continue
        if prev is not None and ind < _indent(prev) and not prev_blank:
            out.append("")
        out.append(_escape_inline(line))
    return out


def _process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = rst_safe(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check_every_claim_has_a_page)
    app.add_role("ganlab-count", count_role)
    app.add_directive("ganlab-claims", ClaimsDirective)
    app.add_directive("ganlab-registry", RegistryDirective)
    app.add_directive("ganlab-fields", FieldsDirective)
    app.add_directive("ganlab-help", HelpDirective)
    app.add_directive("ganlab-exit-codes", ExitCodesDirective)
    app.add_directive("ganlab-test", TestDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
