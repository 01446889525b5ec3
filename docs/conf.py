"""Sphinx configuration of ganlab's documentation.

Build: ``python -m sphinx -W --keep-going -j 1 -b html docs docs/_build/html`` (every gallery
example is executed; a warning, a broken cross-reference or a failing example fails the build).
"""

from __future__ import annotations

import os
import sys
import tomllib
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # this checkout's ganlab, whatever is installed
sys.path.insert(0, str(HERE / "_ext"))
# autosummary imports every submodule to list it; ``python -m`` entry points would run the CLI
for main in sorted((ROOT / "ganlab").rglob("__main__.py")):
    name = ".".join(main.relative_to(ROOT).with_suffix("").parts)
    sys.modules.setdefault(name, types.ModuleType(name))
# examples and autodoc run on one thread each: the gallery's timings hold on a 2-core machine
os.environ.setdefault("OMP_NUM_THREADS", "1")

project = "ganlab"
author = "the ganlab authors"
copyright = "2026, the ganlab authors"
# the version lives in one place: pyproject.toml (ganlab.__version__ reads it from the metadata)
release = version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "ganlab_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
templates_path = ["_templates"]
nitpicky = True  # a reference to something that does not exist fails the build
# ... except the types autodoc writes into signatures and "Bases:" lines for objects outside ganlab
# (no inventories are fetched: the build is offline), private base classes, and annotations kept
# as strings (``from __future__ import annotations``)
nitpick_ignore_regex = [
    (r"py:(class|obj|data|exc)", r"(torch|typing|collections|numpy|np|abc|argparse|enum|dataclasses|pathlib|concurrent)(\..*)?"),
    (r"py:(class|obj)", r"(Module|Protocol|Enum|NamedTuple|Exception|Generic|TypeVar)"),
    (r"py:(class|obj)", r"ganlab(\.\w+)*\._\w+"),
    (r"py:(class|obj)", r".*[\['\]].*"),
]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True, "no-value": True}
autodoc_typehints = "none"  # the signature shows them; docstrings describe the arguments in prose
autodoc_member_order = "bysource"
# the docstrings are prose with reStructuredText's inline markup (no numpydoc/Google sections);
# ganlab_docs makes them valid reST (see rst_safe there) and autodoc renders them as they are

intersphinx_mapping = {}  # offline builds: no inventories fetched

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # every example is executed
    "abort_on_example_error": False,  # all failures are reported, then the build fails
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
}

html_theme = "pydata_sphinx_theme"
html_title = f"ganlab {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path: list[str] = []
