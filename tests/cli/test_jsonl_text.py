"""The ``--jsonl`` beat lines are written by orjson when that gives ``json.dumps``' exact text
(``flat_json_text``): every case where the two could differ must fall back to ``json.dumps``."""

from __future__ import annotations

import json
import math
import struct
from enum import IntEnum

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.cli.live_output import flat_json_text


def _reference(obj: dict) -> str:
    return json.dumps(obj, allow_nan=False)


class _Level(IntEnum):
    HIGH = 3


@pytest.mark.parametrize("value", [
    0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e-05, 1.5e-07, 5e-324, 1e16, 9999999999999998.0, 1.5e16,
    1.7976931348623157e308, 1000000000000000.0, 812.5, 0.1 + 0.2, -123.456, 2**63, -(2**63), 2**70, 7,
    True, False, None, "normal", "a, b", "k: v", 'say "hi"', "back\\slash", "tab\t", "del\x7f", "\x01",
    "café", "日本", "nullable", "e-1", "", [], {}, [1.5, 2], {"a": 1}, _Level.HIGH,
])
def test_same_text_as_json_dumps(value: object) -> None:
    obj = {"type": "beat", "phase": "practice", "v": value, "rr_ms": 845.703125}
    assert flat_json_text(obj) == _reference(obj)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64(math.nan)])
def test_nan_and_infinity_are_refused_as_by_json_dumps(value: float) -> None:
    with pytest.raises(ValueError):
        flat_json_text({"type": "beat", "v": value})


def test_numpy_scalars_and_other_keys_fall_back() -> None:
    for obj in ({"v": np.float64(0.25)}, {"v": np.int64(3)}, {1: 2.5}, {"a": 1, 2: None}):
        try:
            expected = _reference(obj)
        except TypeError:
            with pytest.raises(TypeError):
                flat_json_text(obj)
        else:
            assert flat_json_text(obj) == expected


_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e17, max_value=1e17, allow_nan=False),
    st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", b.to_bytes(8, "little"))[0])
    .filter(math.isfinite),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_floats, st.integers(-(2**70), 2**70), st.booleans(), st.none(), st.text(max_size=8)),
                min_size=1, max_size=44))
def test_any_flat_row_gives_json_dumps_text(values: list) -> None:
    obj = {f"k{i}": v for i, v in enumerate(values)}
    assert flat_json_text(obj) == _reference(obj)


def test_200_000_floats_of_the_indices_range_take_the_fast_path_with_the_same_text() -> None:
    # The fast path (no fallback) must give the same digits: floats between 1e-4 and 1e16, as
    # the per-beat indices are, in rows of 40 values.
    rng = np.random.default_rng(13)
    values = (rng.uniform(-1, 1, 200_000) * 10.0 ** rng.uniform(-4, 15.9, 200_000)).tolist()
    for start in range(0, len(values), 40):
        obj = {f"k{i}": v for i, v in enumerate(values[start:start + 40])}
        text = flat_json_text(obj)
        assert text == _reference(obj)
