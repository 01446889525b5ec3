"""The one place where outside values become configuration values, by the field's annotation:
command-line strings (``from_text``: ``ganlab train``'s flags, derived from the dataclass fields)
and TOML or JSON values (``from_data``: a sweep's tables, a saved ``config.json``). Both read
``none`` as None for an optional field and give tuples for tuple fields; only the type is judged
here, the dataclass's own checks judge the value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
NONE_WORDS = ("none",)


class CoercionError(ValueError):
    """A value of the wrong type for its field (the message names the value and what was wanted)."""


def to_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    raise CoercionError(f"expected true or false, got {text!r}")


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """(the annotation without ``| None``, whether None was allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else Any), True
    return tp, False


def _item_type(tp: Any) -> Any:
    """The item annotation of a tuple annotation (``tuple[float, float]``, ``tuple[str, ...]``); the
    length is the dataclass's to judge."""
    return (typing.get_args(tp) or (Any,))[0]


def from_text(text: str, tp: Any) -> Any:
    """A command-line string as a value of annotation ``tp``: ``none`` (optional fields), true or
    false, numbers, comma-separated tuples (``0.5,0.999``; ``modes,w1``)."""
    tp, optional = _unwrap(tp)
    if optional and text.strip().lower() in NONE_WORDS:
        return None
    origin = typing.get_origin(tp)
    if tp is bool:
        return to_bool(text)
    if tp is int or tp is float:
        try:
            return tp(text)
        except ValueError:
            raise CoercionError(f"expected {'an integer' if tp is int else 'a number'}, got {text!r}") from None
    if origin is tuple:
        return tuple(from_text(v.strip(), _item_type(tp)) for v in text.split(",") if v.strip())
    return text


# scalar annotation → (what the message asks for, the check); bool is an int in Python, so excluded
_SCALARS: dict[Any, tuple[str, typing.Callable[[Any], bool]]] = {
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    str: ("a string", lambda v: isinstance(v, str)),
}


def from_data(value: Any, tp: Any, what: str, *, saved: bool = False) -> Any:
    """A TOML or JSON value as a value of annotation ``tp`` (scalars, tuples from lists, tables as
    dicts, ``"none"`` for an optional field); ``CoercionError`` naming ``what`` otherwise.
    ``saved``: a value read back from a run's config.json, whose numbers stay as they were written
    (an int in a float field stays an int, so that the identity hashes as it did when saved)."""
    tp, optional = _unwrap(tp)
    if optional and (value is None or isinstance(value, str) and value.strip().lower() in NONE_WORDS):
        return None
    origin = typing.get_origin(tp)
    if tp in _SCALARS:
        wanted, ok = _SCALARS[tp]
        converted = float(value) if tp is float and ok(value) and not saved else value
    elif origin is tuple:
        wanted, ok = "a list", lambda v: isinstance(v, (list, tuple))
        item = _item_type(tp)
        converted = (tuple(from_data(v, item, f"{what}[{i}]", saved=saved) for i, v in enumerate(value)) if ok(value)
                     else value)
    elif origin is dict or tp is dict:
        wanted, ok, converted = "a table", lambda v: isinstance(v, dict), value
    else:
        return value
    if not ok(value):
        wanted += ' (or "none")' if optional else ""
        raise CoercionError(f"{what} must be {wanted}, got {value!r}")
    return converted


def field_types(cls: Any) -> dict[str, Any]:
    """The resolved annotation of every field of the dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def fields_from_data(cls: Any, data: dict[str, Any], where: str = "", *, saved: bool = False) -> dict[str, Any]:
    """Every known field of ``data`` coerced by its annotation in ``cls`` (unknown keys are left for
    the caller, which knows what to say about them)."""
    types_ = field_types(cls)
    prefix = f"{where}: " if where else ""
    return {k: from_data(v, types_[k], prefix + k, saved=saved) if k in types_ else v for k, v in data.items()}
