"""Values as JSON can hold them (pure; standard library only).

JSON has no NaN or infinity: an undefined number (NaN, ±inf) is written as ``null``. One function
says so for every JSON output of the package (``compare --json``, ``trends --json``, the live
``--jsonl`` lines).
"""

from __future__ import annotations

import math
from typing import overload

__all__ = ["finite_or_none"]


@overload
def finite_or_none(value: float | None) -> float | None: ...


@overload
def finite_or_none(value: object) -> object: ...


def finite_or_none(value: object) -> object:
    """``None`` for a float that is NaN or infinite; any other float as a plain Python ``float``
    (a numpy scalar too); every other value unchanged.

    >>> finite_or_none(float("nan")) is None, finite_or_none(2.5), finite_or_none("a"), finite_or_none(None)
    (True, 2.5, 'a', None)
    """
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return value
