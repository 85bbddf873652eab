"""The stored form of the live indices: chunks that give back exactly what was recorded, written by
the recorder one JSON chunk per commit and merged into columnar chunks."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.beat import Beat
from devices.clock import VirtualClock
from sessions.index_chunks import (
    CHUNK_BEATS, COLUMNAR, JSON_KEYED, JSON_ROWS, columnar_chunks, decode_columns, decode_rows, encode_columnar,
    encode_json_rows,
)
from sessions.recorder import Recorder
from sessions.store import NewSession, Store

WALL = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def _odd_rows() -> list[tuple[int, dict]]:
    return [
        (3, {"z": -0.0, "a": 5e-324, "n": None, "i": 1, "b": True, "s": "normal", "l": [1, 2], "m": 1.0}),
        (4, {"z": 0.1 + 0.2, "a": None, "n": None, "i": 2**70, "b": None, "s": None, "l": None, "m": 1e308}),
        (9, {"z": 1 / 3, "a": math.nextafter(1.0, 2.0), "n": None, "i": -5, "b": False, "s": "long", "l": {}, "m": 1}),
    ]


def test_a_columnar_chunk_gives_back_the_same_keys_order_types_and_float_bits():
    rows = _odd_rows()
    blob = encode_columnar(rows)
    assert blob.startswith(COLUMNAR)
    back = decode_rows(blob)
    assert [s for s, _ in back] == [3, 4, 9]
    for (_, want), (_, got) in zip(rows, back):
        assert list(got) == list(want)  # key order: the export's text is unchanged
        assert json.dumps(got) == json.dumps(want)
        for k, v in want.items():
            assert type(got[k]) is type(v)
            if isinstance(v, float):
                assert np.float64(got[k]).tobytes() == np.float64(v).tobytes()  # -0.0 and subnormals too


def test_json_chunks_and_columns_for_figures():
    rows = _odd_rows()
    assert decode_rows(encode_json_rows(rows)) == rows
    assert encode_json_rows(rows).startswith(JSON_ROWS)
    for blob in (encode_columnar(rows), encode_json_rows(rows)):
        seq, cols = decode_columns(blob, ["z", "a", "b", "missing"])
        assert seq.tolist() == [3, 4, 9]
        assert cols["z"].tolist() == [-0.0, 0.1 + 0.2, 1 / 3]
        assert np.isnan(cols["a"][1]) and cols["a"][0] == 5e-324
        assert np.isnan(cols["b"]).all() and np.isnan(cols["missing"]).all()  # booleans are not numbers


def test_a_json_chunk_reads_back_as_json_dumps_text_did_float_bits_nan_and_inf_too():
    # plain rows go through orjson (compact text, its own float format), the rest through json.dumps
    rng = np.random.default_rng(5)
    odd = [-0.0, 5e-324, 2.2250738585072014e-308, 1e-5, 1e16, 1e22, 123456789.125, 1 / 3, 0.1 + 0.2, 1e308]
    plain = [(i, {"x": float(v), "i": -(2**63) + i, "b": i % 2 == 0, "s": "ok", "n": None})
             for i, v in enumerate(odd + rng.standard_normal(200).tolist() + (rng.random(200) * 1e-300).tolist())]
    special = [(0, {"x": math.nan, "y": math.inf}), (1, {"x": -math.inf, "y": 1.0}), (2, {"null": "null", "x": None})]
    for rows in (plain, special, _odd_rows()):
        blob = encode_json_rows(rows)
        want = json.loads(json.dumps([[s, d] for s, d in rows]))  # what the chunks read back before
        got = [[s, d] for s, d in decode_rows(blob)]
        assert json.dumps(got) == json.dumps(want)
        for (_, dg), (_, dw) in zip(got, want):
            assert list(dg) == list(dw)
            for k, v in dw.items():
                assert type(dg[k]) is type(v)
                if isinstance(v, float):
                    assert np.float64(dg[k]).tobytes() == np.float64(v).tobytes()
    assert b", " not in encode_json_rows(plain)  # the fast path (compact orjson text) was taken
    # rows sharing one key order: keys once (BIJ2); other rows as [[seq, {...}], ...] (BIJ1)
    assert encode_json_rows(plain).startswith(JSON_KEYED) and b'"x"' in encode_json_rows(plain)
    assert encode_json_rows(plain).count(b'"x"') == 1
    assert encode_json_rows(special).startswith(JSON_ROWS)
    mixed = [(0, {"a": 1.5, "b": None}), (1, {"b": 2.5, "a": None})]  # another key order
    assert encode_json_rows(mixed).startswith(JSON_ROWS) and decode_rows(encode_json_rows(mixed)) == mixed
    with pytest.raises(ValueError, match="damaged"):
        decode_rows(JSON_KEYED + b'[["a", "b"], [[0, 1.5]]]')


def test_chunks_hold_at_most_chunk_beats_rows_and_break_where_the_keys_change():
    rows = [(i, {"t_s": i * 0.8, "rmssd_ms": 40.0 + i / 7}) for i in range(CHUNK_BEATS + 10)]
    rows += [(CHUNK_BEATS + 10 + i, {"rmssd_ms": 1.5, "t_s": 2.0}) for i in range(3)]  # another key order
    chunks = list(columnar_chunks(rows))
    assert [c.n for c in chunks] == [CHUNK_BEATS, 10, 3]
    assert [(c.first_seq, c.last_seq) for c in chunks][1] == (CHUNK_BEATS, CHUNK_BEATS + 9)
    assert [r for c in chunks for r in decode_rows(c.data)] == rows
    with pytest.raises(ValueError, match="same keys"):
        encode_columnar(rows[-4:])


def _indices(i: int) -> dict:
    return {"index": i, "t_s": 0.8 * (i + 1), "rmssd_ms": 40.0 + math.sin(i) / 3, "lf_hf": None if i % 5 else 1 / 3,
            "artifact": "normal" if i % 7 else "ectopic", "valid": bool(i % 7)}


def _chunk_kinds(store: Store, sid: str) -> list[tuple[str, int]]:
    rows = store.conn.execute(
        "SELECT n, data FROM beat_index_chunks WHERE session_id = ? ORDER BY first_seq", (sid,)
    ).fetchall()
    return [("columnar" if bytes(d).startswith(COLUMNAR) else "json", n) for n, d in rows]


def test_the_recorder_writes_every_commit_and_merges_full_chunks(tmp_path):
    n = 2 * CHUNK_BEATS + 100
    with Store.open_home(tmp_path) as store:
        sid = store.create_session(NewSession("simulator", WALL))
        clock = VirtualClock()
        rec = Recorder(store, sid, clock=clock)
        for i in range(n):
            seq = rec.add_beat(Beat(800.0, 0.8 * (i + 1)))
            rec.add_indices(seq, _indices(i))
            clock.advance(0.8)  # commits every second or two: each commit its own JSON chunk
            if i >= 2 * CHUNK_BEATS + 20:
                for merge in rec._merges:
                    merge.wait()  # (a merge is encoded on a thread; the next commit writes it)
        rec.flush()
        # while recording: two merged chunks, then the commits since, one JSON chunk each
        kinds = _chunk_kinds(store, sid)
        assert kinds[:2] == [("columnar", CHUNK_BEATS)] * 2
        assert {k for k, _ in kinds[2:]} == {"json"} and sum(c for _, c in kinds[2:]) == 100 and len(kinds) > 3
        assert list(store.iter_beat_indices(sid)) == [(i, _indices(i)) for i in range(n)]  # a crash here keeps all
        rec.finish()
        assert _chunk_kinds(store, sid) == [("columnar", CHUNK_BEATS)] * 2 + [("columnar", 100)]
        assert store.beat_indices(sid) == {i: _indices(i) for i in range(n)}
        assert store.count_beat_indices(sid) == n
        cols = store.beat_index_columns(sid, ["rmssd_ms", "lf_hf"])
        assert cols.seq.tolist() == list(range(n))
        assert cols.values["rmssd_ms"].tolist() == [_indices(i)["rmssd_ms"] for i in range(n)]
        assert np.isnan(cols.values["lf_hf"][1]) and cols.values["lf_hf"][5] == 1 / 3
        deleted = store.delete_session(sid)
        assert deleted.indices == n
        assert store.conn.execute("SELECT count(*) FROM beat_index_chunks").fetchone()[0] == 0


def test_indices_are_recorded_once_per_beat_in_seq_order(tmp_path):
    with Store.open_home(tmp_path) as store:
        sid = store.create_session(NewSession("simulator", WALL))
        with Recorder(store, sid, clock=VirtualClock()) as rec:
            for i in range(3):
                rec.add_beat(Beat(800.0, 0.8 * (i + 1)))
            rec.add_indices(1, {"rmssd_ms": 1.0})
            with pytest.raises(ValueError, match="seq order"):
                rec.add_indices(1, {"rmssd_ms": 2.0})
            with pytest.raises(ValueError, match="seq order"):
                rec.add_indices(0, {"rmssd_ms": 2.0})
            rec.add_indices(2, {"rmssd_ms": 3.0, "when": datetime(2026, 1, 1).date().isoformat()})
        assert store.beat_indices(sid) == {1: {"rmssd_ms": 1.0}, 2: {"rmssd_ms": 3.0, "when": "2026-01-01"}}


def _pinned_rows() -> list[tuple[int, dict]]:
    """Rows with every kind of column (floats with runs of None, a given NaN, -0.0, inf and a
    subnormal; ints; categories; lists; ints past 2**61) and a key-order change; every value exact
    on any machine (no libm)."""
    rows = []
    for i in range(2600):
        d = {"index": i, "t_s": i * 0.8, "rmssd_ms": 40.0 + i / 7, "lf_hf": None if i % 5 == 0 else i / 3,
             "late": None if i < 30 else -i / 9, "odd": [math.nan, None, -0.0, math.inf, 1e-310, i / 11][i % 6],
             "artifact": ("normal", "ectopic", None)[i % 3 // 2 if i % 7 else 2], "valid": i % 4 != 0,
             "big": 2**62 + i if i % 100 == 0 else i, "listy": [i, i / 2] if i % 50 == 0 else None,
             "none": None, "zero": 0.0}
        if i >= 2000:
            d = {"t_s": d.pop("t_s"), **d}  # another key order: a new chunk
        rows.append((i, d))
    return rows


def test_columnar_chunks_keep_the_bytes_they_were_first_stored_with():
    """The format is pinned: these rows gave this payload (before zlib, which is deterministic for
    one zlib) when every column was encoded on its own, one Python pass per row; encoding the
    float columns of a chunk at once gives the same bytes."""
    import hashlib
    import zlib

    chunks = list(columnar_chunks(_pinned_rows()))
    assert [(c.first_seq, c.last_seq, c.n) for c in chunks] == [(0, 1023, 1024), (1024, 1999, 976), (2000, 2599, 600)]
    payloads = [zlib.decompress(c.data[len(COLUMNAR):]) for c in chunks]
    assert [c.data for c in chunks] == [COLUMNAR + zlib.compress(p, 6) for p in payloads]
    digest = hashlib.sha256(b"".join(payloads)).hexdigest()
    assert digest == "55b2d4828f3ee90179a9593570fe0530beda7f4b27d99b38e2939f1b3c7ad1b4"
    assert [r for c in chunks for r in decode_rows(c.data)].__repr__() == _pinned_rows().__repr__()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=7,
                         max_size=7), min_size=1, max_size=5))
def test_float_columns_encoded_together_give_each_column_s_bytes(columns):
    """A chunk's float columns are encoded as one array; each body is what encoding that column
    alone gives (the null bitmap, the fill of nulls by the previous value, NaNs given kept)."""
    from sessions.index_chunks import _encode_column, _encode_floats

    columns = [c if any(isinstance(v, float) for v in c) else [0.5, *c[1:]] for c in columns]
    has_nulls = [None in c for c in columns]
    together = _encode_floats(columns, has_nulls)
    for values, has, body in zip(columns, has_nulls, together):
        kind, alone = _encode_column(values)
        assert kind == ["f8", has] and body == alone
        if has:  # the bitmap marks exactly the None values, not the NaNs given
            bitmap = np.unpackbits(np.frombuffer(body[:1], dtype=np.uint8), count=len(values)).astype(bool)
            assert bitmap.tolist() == [v is None for v in values]
    rows = [(i, {f"c{j}": c[i] for j, c in enumerate(columns)}) for i in range(7)]
    back = decode_rows(encode_columnar(rows))
    for (_, want), (_, got) in zip(rows, back):
        assert [np.float64(math.nan if v is None else v).tobytes() for v in want.values()] == [
            np.float64(math.nan if v is None else v).tobytes() for v in got.values()]
        assert [v is None for v in want.values()] == [v is None for v in got.values()]


def test_json_chunks_hold_one_block_each_and_each_row_is_written_as_json_once_at_most(tmp_path):
    """Faster than real time (commits every session second, indices about twice a second of the
    clock), a merged block replaces whole JSON chunks and the JSON chunks after it stay: a JSON
    chunk never holds rows of two blocks of CHUNK_BEATS, no row is ever in two JSON chunks (the
    rows after a merged block are not written again), and after every commit the chunks give back
    every committed row once, in order."""
    n = 3 * CHUNK_BEATS + 300
    with Store.open_home(tmp_path) as store:
        sid = store.create_session(NewSession("simulator", WALL))
        clock = VirtualClock()
        rec = Recorder(store, sid, clock=clock)
        json_chunks: set[tuple[int, int]] = set()  # (first seq, last seq) of every JSON chunk seen
        merged_while_recording = False
        for i in range(n):
            seq = rec.add_beat(Beat(800.0, 0.8 * (i + 1)))
            rec.add_settled(seq, _indices(i), "normal")
            clock.advance(0.013)  # indices committed every ~40 beats, a block merged every ~1024
            if i % 300 == 0:  # (else merges take several commits of indices, as on a busy machine)
                for merge in rec._merges:
                    merge.wait()
            for first, last, magic in store.conn.execute(
                    "SELECT first_seq, last_seq, substr(data, 1, 4) FROM beat_index_chunks WHERE session_id = ?",
                    (sid,)):
                if bytes(magic) == COLUMNAR:
                    merged_while_recording = True
                else:
                    assert first // CHUNK_BEATS == last // CHUNK_BEATS, (first, last)
                    json_chunks.add((first, last))
            if i % 37 == 0:
                stored = list(store.iter_beat_indices(sid))
                assert stored == [(j, _indices(j)) for j in range(len(stored))]
        assert merged_while_recording and len(json_chunks) > 3 * n // CHUNK_BEATS
        written = sorted(seq for first, last in json_chunks for seq in range(first, last + 1))
        assert written == sorted(set(written))  # no row in two JSON chunks
        rec.finish()
        assert _chunk_kinds(store, sid) == [("columnar", CHUNK_BEATS)] * 3 + [("columnar", 300)]
        assert store.beat_indices(sid) == {i: _indices(i) for i in range(n)}
