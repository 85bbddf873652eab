"""Building frozen dataclass objects cheaply: :func:`positional_builder`.

Frozen value types (``Beat``, ``BeatIndices``, ...) are built once a beat on the hot paths; a frozen
dataclass's ``__init__`` stores every field through ``object.__setattr__``, which costs about as much as
everything else done for a simulated beat. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

__all__ = ["positional_builder"]


def positional_builder(cls: type[Any]) -> Any:
    """A constructor of the frozen, slotted dataclass ``cls`` that takes its fields in order and gives the
    same object as ``cls(...)``, several times faster (the engine builds one :class:`BeatIndices` and one
    :class:`WindowQuality` a beat; a frozen dataclass's ``__init__`` stores every field through
    ``object.__setattr__``). An object of a twin class with the same slots is filled by plain attribute
    stores, then becomes ``cls`` by ``__class__`` assignment, which Python allows between classes of the
    same layout. For a ``cls`` with a ``__post_init__`` (its ``__init__`` does more than store the fields),
    or where the assignment is refused, ``cls`` itself is returned (tests compare both ways)."""
    if hasattr(cls, "__post_init__"):  # its __init__ does more than store the fields
        return cls
    names = tuple(f.name for f in fields(cls))
    src = (f"def build({', '.join(names)}):\n"
           "    obj = new(Twin)\n"
           + "".join(f"    obj.{n} = {n}\n" for n in names)
           + "    obj.__class__ = cls\n"
           "    return obj\n")
    ns: dict[str, Any] = {"cls": cls, "new": object.__new__,
                          "Twin": type(f"_{cls.__name__}Twin", (), {"__slots__": names})}
    exec(src, ns)  # noqa: S102 - generated from the dataclass's own field names, as dataclasses does
    build = ns["build"]
    try:
        build(*range(len(names)))
    except TypeError:  # pragma: no cover - a Python that refuses the assignment
        return cls
    return build
