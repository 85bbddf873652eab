"""The stored form of the live indices: chunks of rows, ``beat_index_chunks.data`` (migration 0008).

What the screen showed for each settled beat is ``BeatIndices.to_json_dict()``: 42 keys, about 1.2 KB
as JSON text. A 24 h session stored that as one JSON row per beat (1.29 KB a beat all in). Here the
rows of one session are stored as chunks, each a ``bytes`` blob of one of two forms:

- **columnar** (``b"BIC1"`` + zlib): up to :data:`CHUNK_BEATS` rows with the same keys in the same
  order, one column per key. A column of floats (and ``None``) keeps every float64 bit pattern: the
  value XOR the previous value (slowly changing windowed indices share their sign, exponent and
  leading mantissa bits, which become zero bytes), byte-shuffled (the 8 bytes of each value in 8
  planes), plus a null bitmap when a value is ``None``. A column of ints is stored as int64
  differences; a column of strings, booleans and ``None`` as one byte per row indexing its distinct
  values; any other column as the JSON text of its values. About 142 bytes a beat for the
  indices of settings version 2 (``python benchmarks/run.py store``).
- **JSON** (``b"BIJ1"`` + JSON text ``[[seq, {...}], ...]``, or ``b"BIJ2"`` + ``[[key, ...], [[seq,
  value, ...], ...]]`` when the rows share one key order): the rows of one recorder commit that
  wrote indices that fall in one block of :data:`CHUNK_BEATS` rows, written cheaply so that the
  crash guarantees of ``docs/storage.md`` hold. The recorder merges them into columnar chunks, a
  block at a time, as soon as a whole block has accumulated, and at the end of a session.

Decoding gives back exactly what was given: the same keys in the same order, floats bit for bit
(``-0.0``, subnormals), ints, strings, booleans and ``None``; anything that is not one of those
round-trips through JSON, as it did when every row was JSON text.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import countOf, is_, itemgetter
from types import MappingProxyType
from typing import Any

import numpy as np
import orjson

#: Rows in one columnar chunk (about 17 minutes at 60 beats/min). Larger chunks compress a little
#: better (1024: 145 B/beat, 4096: 143 B/beat measured on a simulated session); smaller ones keep
#: the tail that a recorder rewrites, and a reader decodes at once, short.
CHUNK_BEATS = 1024

COLUMNAR = b"BIC1"
JSON_ROWS = b"BIJ1"
JSON_KEYED = b"BIJ2"
_ZLIB_LEVEL = 6
_HEADER = struct.Struct("<I")

Row = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Chunk:
    """One ``beat_index_chunks`` row to write: the first and last ``seq``, the row count, the blob."""

    first_seq: int
    last_seq: int
    n: int
    data: bytes


def _shuffled(a: np.ndarray) -> bytes:
    """The bytes of an 8-byte array in 8 planes (all first bytes, then all second bytes...)."""
    return np.ascontiguousarray(a.view(np.uint8).reshape(-1, 8).T).tobytes()


def _unshuffled(b: bytes, n: int, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.frombuffer(b, dtype=np.uint8).reshape(8, n).T).view(dtype).reshape(n)


def _encode_column(values: Sequence[Any]) -> tuple[list[Any], bytes]:
    """``([kind, extra], bytes)`` of one column (see the module docstring)."""
    kinds = set(map(type, values))
    if kinds <= _FLOAT_OR_NONE and float in kinds:
        return ["f8", type(None) in kinds], _encode_floats([values], [type(None) in kinds])[0]
    if kinds == {int} and -(2**61) < min(values) and max(values) < 2**61:
        a = np.array(values, dtype=np.int64)
        return ["i8", None], _shuffled(np.diff(a, prepend=np.int64(0)))
    if kinds <= {str, bool, type(None)}:
        # (no two distinct values of these types compare equal: True == 1 needs an int)
        distinct = list(dict.fromkeys(values))
        if len(distinct) <= 256:
            code_of = {v: i for i, v in enumerate(distinct)}
            return ["cat", distinct], bytes(map(code_of.__getitem__, values))
    return ["json", None], json.dumps(values).encode()


_FLOAT_OR_NONE = frozenset({float, type(None)})


def _encode_floats(columns: Sequence[Sequence[float | None]], has_nulls: Sequence[bool]) -> list[bytes]:
    """The bodies of ``f8`` columns of one chunk (floats and ``None``, each column at least one
    float), all at once as one 2-D array (a few numpy calls per chunk, not per column): the null
    bitmap where ``has_nulls``, then the byte-shuffled XOR of each value with the previous one."""
    arr = np.array(columns, dtype=np.float64)  # (columns, rows); None becomes NaN (C loop)
    n = arr.shape[1]
    masks: dict[int, bytes] = {}
    with_nulls = [j for j, has in enumerate(has_nulls) if has]
    if with_nulls:  # a null repeats the previous value (0.0 before the first): its XOR is zero
        sub = arr[with_nulls]
        null = np.isnan(sub)
        for r, j in enumerate(with_nulls):
            values = columns[j]
            nan_at = np.flatnonzero(null[r]).tolist()
            # a NaN that was given stays NaN (every NaN is a None unless a NaN was given: C loop)
            if sum(map(is_, map(values.__getitem__, nan_at), repeat(None))) != len(nan_at):
                null[r] = False
                null[r, [i for i in nan_at if values[i] is None]] = True
        given = np.where(null, -1, np.arange(n))
        np.maximum.accumulate(given, axis=1, out=given)  # the last non-null row at or before each row
        filled = np.take_along_axis(sub, np.maximum(given, 0), axis=1)
        arr[with_nulls] = np.where(given >= 0, filled, 0.0)
        packed = np.packbits(null, axis=1)  # each column's bitmap padded to whole bytes on its own
        masks = {j: packed[r].tobytes() for r, j in enumerate(with_nulls)}
    bits = arr.view(np.uint64)
    x = bits.copy()
    x[:, 1:] ^= bits[:, :-1]
    planes = np.ascontiguousarray(x.view(np.uint8).reshape(len(columns), n, 8).transpose(0, 2, 1))
    return [masks.get(j, b"") + planes[j].tobytes() for j in range(len(columns))]


def encode_columnar(rows: Sequence[Row]) -> bytes:
    """A columnar chunk of ``rows`` (``(seq, indices)`` in seq order, every dict with the same keys
    in the same order)."""
    keys = tuple(rows[0][1])
    dicts = list(map(itemgetter(1), rows))
    if countOf(map(tuple, dicts), keys) != len(dicts):  # (C loops)
        raise ValueError("every row of a columnar chunk must have the same keys in the same order")
    return _encode_columnar(list(map(itemgetter(0), rows)), keys, dicts)


def _encode_columnar(seqs: list[int], keys: tuple[str, ...], dicts: list[dict[str, Any]]) -> bytes:
    """:func:`encode_columnar` of rows whose dicts all have ``keys`` in that order (checked by the caller)."""
    # the rows transposed into columns by C loops (dict.values, zip): no Python step per value
    columns: list[Sequence[Any]] = [seqs, *zip(*map(dict.values, dicts))]
    header_cols: list[list[Any]] = [[]] * len(columns)
    parts: list[bytes] = [b""] * len(columns)
    floats: list[int] = []
    nulls: list[bool] = []
    for j, values in enumerate(columns):
        kinds = set(map(type, values))
        if kinds <= _FLOAT_OR_NONE and float in kinds:  # encoded together below
            floats.append(j)
            nulls.append(type(None) in kinds)
            continue
        kind, parts[j] = _encode_column(values)
        header_cols[j] = [*kind, len(parts[j])]
    if floats:
        for j, has, body in zip(floats, nulls, _encode_floats([columns[j] for j in floats], nulls)):
            header_cols[j], parts[j] = ["f8", has, len(body)], body
    header = json.dumps({"n": len(seqs), "keys": list(keys), "cols": header_cols}).encode()
    payload = _HEADER.pack(len(header)) + header + b"".join(parts)
    return COLUMNAR + zlib.compress(payload, _ZLIB_LEVEL)


def encode_json_rows(rows: Sequence[Row]) -> bytes:
    """A JSON chunk (one commit's rows, cheap to write: the recorder writes one about every beat at
    ``--speed max``). Written by orjson (~15x faster than ``json.dumps``: compact, and its own
    shortest round-trip float text) when every value is a float, an int, a string, a boolean or
    ``None`` and no float is NaN or infinite (orjson writes those as null: the text then holds more
    ``null`` than the rows hold ``None``): ``json.loads`` then reads back exactly what the
    ``json.dumps`` text gave (the same float bits). Rows that share one order of text keys (every
    commit of the recorder) are then written with their keys once (``BIJ2``; two rows: a quarter
    smaller, so a commit writes fewer pages). Anything else is written by ``json.dumps`` (``BIJ1``)."""
    # C loops only (this runs at every commit that writes indices): the values' types, the key
    # order, the count of None
    if rows:
        dicts = list(map(itemgetter(1), rows))
        values = list(chain.from_iterable(map(dict.values, dicts)))
        if _ORJSON_SCALARS.issuperset(map(type, values)):
            keys = tuple(dicts[0])  # (a single row gains nothing from its keys apart)
            keyed = (len(rows) > 1 and _TEXT.issuperset(map(type, keys))
                     and countOf(map(tuple, dicts), keys) == len(dicts))
            try:
                if keyed:
                    text = orjson.dumps([keys, [[s, *d.values()] for s, d in rows]])
                else:
                    text = orjson.dumps(rows)  # (seq, dict) tuples are written as [seq, {...}] arrays
            except orjson.JSONEncodeError:  # an int beyond 64 bits, a key that is not text
                pass
            else:
                if text.count(b"null") == sum(map(is_, values, repeat(None))):
                    return (JSON_KEYED if keyed else JSON_ROWS) + text
    return JSON_ROWS + json.dumps([[s, d] for s, d in rows]).encode()


_ORJSON_SCALARS = frozenset({float, int, str, bool, type(None)})


def _decode_column(kind: str, extra: Any, body: bytes, n: int) -> list[Any]:
    if kind == "f8":
        mask_len = (n + 7) // 8 if extra else 0
        x = _unshuffled(body[mask_len:], n, np.uint64)
        bits = np.bitwise_xor.accumulate(x)
        values: list[Any] = bits.view(np.float64).tolist()
        if extra:
            nulls = np.unpackbits(np.frombuffer(body[:mask_len], dtype=np.uint8), count=n).astype(bool)
            for i in np.flatnonzero(nulls).tolist():
                values[i] = None
        return values
    if kind == "i8":
        out: list[Any] = np.cumsum(_unshuffled(body, n, np.int64)).tolist()
        return out
    if kind == "cat":
        table = list(extra)
        return [table[c] for c in body]
    if kind == "json":
        decoded: list[Any] = json.loads(body)
        return decoded
    raise ValueError(f"unknown column kind {kind!r} in a stored chunk of live indices")


def _columnar_parts(blob: bytes) -> tuple[int, list[str], list[tuple[str, Any, bytes]]]:
    payload = zlib.decompress(blob[len(COLUMNAR):])
    (hlen,) = _HEADER.unpack_from(payload)
    header = json.loads(payload[_HEADER.size:_HEADER.size + hlen])
    pos = _HEADER.size + hlen
    cols = []
    for kind, extra, size in header["cols"]:
        cols.append((kind, extra, payload[pos:pos + size]))
        pos += size
    return int(header["n"]), list(header["keys"]), cols


def decode_rows(blob: bytes) -> list[Row]:
    """The ``(seq, indices)`` rows of a chunk of either form, in seq order."""
    if blob.startswith(JSON_ROWS):
        return [(int(s), d) for s, d in json.loads(blob[len(JSON_ROWS):])]
    if blob.startswith(JSON_KEYED):
        keys, listed = json.loads(blob[len(JSON_KEYED):])
        if any(len(row) != len(keys) + 1 for row in listed):
            raise ValueError("a stored chunk of live indices is damaged: a row does not match its keys")
        return [(int(row[0]), dict(zip(keys, row[1:]))) for row in listed]
    if not blob.startswith(COLUMNAR):
        raise ValueError("not a stored chunk of live indices")
    n, keys, cols = _columnar_parts(blob)
    seqs = _decode_column(*cols[0][:2], cols[0][2], n)
    columns = [_decode_column(kind, extra, body, n) for kind, extra, body in cols[1:]]
    return [(seq, dict(zip(keys, values))) for seq, *values in zip(seqs, *columns)]


def decode_columns(blob: bytes, keys: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(seq, {key: float64 values})`` of a chunk, only the keys asked for: ``None``, a missing
    key or a value that is not a number is NaN. Reads only those columns of a columnar chunk."""
    if blob.startswith(COLUMNAR):
        n, stored_keys, cols = _columnar_parts(blob)
        seq = np.asarray(_decode_column(*cols[0][:2], cols[0][2], n), dtype=np.int64)
        out: dict[str, np.ndarray] = {}
        for key in keys:
            if key in stored_keys:
                kind, extra, body = cols[1 + stored_keys.index(key)]
                out[key] = _float_column(kind, extra, body, n)
            else:
                out[key] = np.full(n, np.nan)
        return seq, out
    rows = decode_rows(blob)
    seq = np.array([s for s, _ in rows], dtype=np.int64)
    return seq, {key: _as_float([d.get(key) for _, d in rows]) for key in keys}


def _float_column(kind: str, extra: Any, body: bytes, n: int) -> np.ndarray:
    """``_as_float(_decode_column(...))``; a float column without a Python object per value."""
    if kind != "f8":
        return _as_float(_decode_column(kind, extra, body, n))
    mask_len = (n + 7) // 8 if extra else 0
    values = np.bitwise_xor.accumulate(_unshuffled(body[mask_len:], n, np.uint64)).view(np.float64)
    if extra:
        values[np.unpackbits(np.frombuffer(body[:mask_len], dtype=np.uint8), count=n).astype(bool)] = np.nan
    return values


def _as_float(values: list[Any]) -> np.ndarray:
    return np.array(
        [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values],
        dtype=np.float64,
    )


def columnar_chunks(rows: Sequence[Row]) -> Iterator[Chunk]:
    """``rows`` (in seq order) as columnar chunks: at most :data:`CHUNK_BEATS` rows each, a new
    chunk wherever the keys change."""
    start = 0
    while start < len(rows):
        dicts = list(map(itemgetter(1), rows[start:start + CHUNK_BEATS]))
        keys = tuple(dicts[0])
        same = list(map(keys.__eq__, map(tuple, dicts)))  # (C loops)
        n = same.index(False) if countOf(same, True) != len(same) else len(same)
        part = rows[start:start + n]
        yield Chunk(part[0][0], part[-1][0], n, _encode_columnar(list(map(itemgetter(0), part)), keys, dicts[:n]))
        start += n


def normalise(indices: Mapping[str, Any]) -> dict[str, Any]:
    """What storing ``indices`` as JSON gave back (keys as text, tuples as lists...) for a mapping
    of plain values; a dict of str keys and plain values (what ``to_json_dict`` gives) unchanged."""
    # (the live runner passes a read-only view of to_json_dict(): its copy() is a C-level dict copy)
    d = indices.copy() if type(indices) is MappingProxyType else dict(indices)
    if type(d) is dict and _PLAIN.issuperset(map(type, d.values())) and _TEXT.issuperset(map(type, d)):  # C loops
        return d
    decoded: dict[str, Any] = json.loads(json.dumps(d))
    return decoded


_PLAIN = frozenset({float, int, str, bool, type(None)})
_TEXT = frozenset({str})
