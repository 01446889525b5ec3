"""What every ganlab command line shares (``ganlab.cli`` and ``ganlab.sweep.cli``): the exit
statuses' constants (what each means is the table in ``ganlab.cli``'s docstring, which ``ganlab
--help`` prints and the docs read); the parser class, with booleans spelled one way (``--NAME`` /
``--no-NAME``); the dispatcher every parsed command runs through.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from .coerce import FALSE_WORDS, TRUE_WORDS, CoercionError, to_bool

EXIT_CLAIM_FAILED, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INCOMPLETE, EXIT_MACHINE, EXIT_INTERRUPTED = 1, 2, 3, 4, 5, 130
EXIT_CELL_FAILED = EXIT_CLAIM_FAILED  # (1: something the command ran failed)
_WORDS = set(TRUE_WORDS + FALSE_WORDS)
# argparse reads "-1e-3" as an option unless told that such strings are numbers
_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class Parser(argparse.ArgumentParser):
    """An argparse parser that reads negative numbers as values, and the old spelling of a boolean
    flag (``--compile true``, ``--g-bias=false``) as the new one (``--compile``, ``--no-g-bias``),
    saying so in one line: scripts written before keep working."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._negative_number_matcher = _NUMBER

    def parse_known_args(self, args=None, namespace=None):
        return super().parse_known_args(self._new_booleans(sys.argv[1:] if args is None else list(args)), namespace)

    def _new_booleans(self, args: list[str]) -> list[str]:
        flags = {s for a in self._actions if isinstance(a, argparse.BooleanOptionalAction)
                 for s in a.option_strings if not s.startswith("--no-")}
        out: list[str] = []
        i = 0
        while i < len(args):
            flag, eq, text = args[i].partition("=")
            if flag in flags and (eq or (i + 1 < len(args) and args[i + 1].lower() in _WORDS)):
                text = text if eq else args[i + 1]
                try:
                    new = flag if to_bool(text) else "--no-" + flag[2:]
                except CoercionError as e:
                    self.error(f"argument {flag}: {e}")
                if os.environ.get("RANK", "0") == "0":  # (under torchrun, process 0 alone speaks)
                    print(f"note: `{flag} {text}` is spelled `{new}` now", file=sys.stderr)
                out.append(new)
                i += 1 if eq else 2
                continue
            out.append(args[i])
            i += 1
        return out


def boolean_flag(parser, name: str, **kw) -> argparse.Action:
    """``--NAME`` / ``--no-NAME``: the one spelling of a boolean on every ganlab command line."""
    return parser.add_argument(name, action=argparse.BooleanOptionalAction, **kw)


def error_exit(text: Any) -> int:
    """One line, always; a full disk or a lack of memory is the machine's failure, not bad input."""
    print(f"error: {' '.join(str(text).split())}", file=sys.stderr)
    if isinstance(text, MemoryError):
        return EXIT_MACHINE
    if isinstance(text, OSError):
        from .validation import MACHINE_ERRNOS

        return EXIT_MACHINE if text.errno in MACHINE_ERRNOS else EXIT_BAD_INPUT
    return EXIT_BAD_INPUT


def dispatch(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Run the parsed command (``args.func``); a Ctrl-C that reaches here is one line and exit 130
    (``argv`` None: a real process, which ignores further signals while it exits)."""
    try:
        return args.func(args)
    except KeyboardInterrupt:  # (train and sweep save their run first and say what was saved)
        print(f"interrupted: ganlab {args.command} stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if argv is None:  # a process leaving: a late Ctrl-C must not become a traceback while it exits
            import signal

            try:
                for s in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(s, signal.SIG_IGN)
            except ValueError:  # (not the main thread: nothing to protect)
                pass
