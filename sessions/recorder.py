"""Crash-safe recording of one session into the store.

Typical use by the session runner::

    store = Store.open_home(home)
    new = NewSession.from_device("live", clock.wall_now(), source.info,
                                 practice="resonance", engine_settings=settings.to_dict())
    with Recorder.create(store, new, clock=clock) as rec:   # exception inside -> status 'incomplete'
        rec.begin_phase("baseline", 0.0)
        async for item in source.stream():
            if isinstance(item, Beat):
                rec.add_beat(item)                       # returns the beat's seq
            elif isinstance(item, Gap):
                rec.add_gap(item)
            else:
                rec.record(item)                         # a typed event (biofeedback.events)
            for indices in engine.push(item):            # settled beats lag by the look-ahead
                seq = rec.seq_for_t(indices.t_s)
                rec.add_settled(seq, indices.to_json_dict(), indices.artifact)  # indices and label
            rec.poll()                                   # also call ~every second when no beats come
        rec.end_phase("recovery", t_end)
    # leaving the block normally calls finish("complete")

Commit policy: every call buffers rows in memory; the buffer is written in ONE transaction
(``executemany`` per table; beats alone, the commit per session second at ``--speed max``, as one
``INSERT`` statement, a transaction of its own: :func:`sessions.store_rows.insert_beats`) when at
least ``commit_interval_s`` of the injected clock (real time) has passed since the last commit, OR
when the latest session time recorded (a beat's, gap's or event's ``t_s``) is ``commit_interval_s``
or more past the session time of the last commit or, if earlier, of the first row buffered since
(checked on every ``add_*``/``set_*``/``poll`` call), and on :meth:`flush` and :meth:`finish`.
The second reference matters after a stall (the first run compiling the kernels, a paused
process): an event stamped with the clock's present can be far ahead of the overdue beats that
follow it, and those must still be committed every session second.

What a commit writes: always every buffered *raw* row (beats, gaps, events, phases). The *derived*
rows (the engine's artifact labels and the live indices, which ``replay`` recomputes bit for bit
from the raw rows and the stored engine settings) go with a commit when at least half of
``commit_interval_s`` of the clock has passed since they were last written, and on their own once a
whole interval has passed (checked on every call). In real time (the clock and session time run
together) that is every commit, as before; in a session faster than real time (``--speed 20``,
``--speed max``), where the commits per session second come about every beat, the labels and
indices are written about twice a second of real time instead of with every commit: a few
``UPDATE`` statements of many labels and one chunk of indices instead of two statements and
fresh pages in every commit (WAL pages a commit 5.4 -> 1.6, the recorder alone about a third faster:
``python benchmarks/run.py demo24h``).

What a crash loses: with WAL + ``synchronous=NORMAL`` a committed transaction survives a crash of
the process, so a killed recorder loses at most the raw rows of the last ``commit_interval_s`` of
real time and of session time, whichever is less (a simulated session at ``--speed 20`` loses at
most one second of session, not twenty), and the labels and indices of at most the last
``commit_interval_s`` of real time (in real time the same second; at ``--speed max`` up to a real
second of them, which ``replay`` recomputes from the stored beats), plus the time since the
last call if the caller stops calling: call :meth:`poll` from a periodic task.

When the store cannot be written (disk full, file size limit, read-only, busy: a
:class:`~sessions.store.StoreError`), nothing is lost: the rows stay buffered in memory, the failure
is kept in :attr:`Recorder.store_error`, recording goes on and every later commit retries (once per
commit interval). If the store recovers, everything buffered is written in order; if it has not by
:meth:`finish`, ``finish`` raises a :class:`~sessions.store.StoreError` saying how many beats could
not be stored (everything committed before the failure stays).

Raw beat columns are written once and never updated (a trigger enforces it); the engine's artifact
label is a separate ``UPDATE`` of the ``artifact`` column only. The rows are buffered as
:class:`sessions.store_rows.Rows` and written by :func:`sessions.store_rows.write_rows` (this module
holds no SQL).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from biofeedback.beat import Beat, Gap
from biofeedback.events import Event, GapEvent, PhaseBegin, PhaseEnd
from devices.clock import Clock, RealClock
from sessions.checkpointer import AUTO_CHECKPOINT_PAGES, BACKSTOP_PAGES, CHECKPOINT_EVERY_COMMITS, WalCheckpointer
from sessions.index_chunks import CHUNK_BEATS, Chunk, Row, columnar_chunks, encode_json_rows, normalise
from sessions.store import NewSession, Store, StoreError
from sessions.store_rows import (
    BeatRow, IndexChunkRow, LabelRow, Rows, event_row, insert_beats, next_ordinals, session_status,
    set_auto_checkpoint, set_busy_wait, write_rows,
)

RECENT_BEATS = 256  # beats remembered by seq_for_t
#: How long a commit waits for another writer (an import, a delete) before giving up until the next
#: commit: short, so a busy store never stalls the session's event loop for long.
BUSY_WAIT_MS = 200
FINAL_BUSY_WAIT_MS = 10_000  # the last commit (finish) waits as long as any other store write


class Recorder:
    """Records beats, gaps, events, phases and live indices of session ``session_id``.

    Parameters
    ----------
    store:
        An open :class:`~sessions.store.Store`; the session must have been created by this store
        with status ``recording`` (so the store holds its recording lock).
    session_id:
        The id returned by :meth:`Store.create_session`.
    clock:
        Decides when to commit (``monotonic_s``) and stamps the end time (``wall_now``); default
        :class:`~devices.clock.RealClock`.
    commit_interval_s:
        Longest time, on ``clock``, between commits while calls keep coming (default 1 s).
    background_checkpoints:
        Copy the WAL back into the database on a thread of its own
        (:class:`~sessions.checkpointer.WalCheckpointer`), not inside this thread's commits: for a
        session that commits many times a second of real time (``--speed max``).

    Every ``add_*`` raises :class:`ValueError` for a value that cannot be a recording (non-finite
    or non-positive ``rr_ms``, non-finite times); nothing of that call is buffered then.
    """

    def __init__(self, store: Store, session_id: str, *, clock: Clock | None = None, commit_interval_s: float = 1.0,
                 background_checkpoints: bool = False):
        if not commit_interval_s > 0:
            raise ValueError(f"commit_interval_s must be > 0, got {commit_interval_s!r}")
        self.store = store
        self.session_id = session_id
        self.clock: Clock = clock or RealClock()
        self.commit_interval_s = float(commit_interval_s)
        status = session_status(store, session_id)
        if status is None:
            raise ValueError(f"no session {session_id!r} in {store.path}")
        if status != "recording":
            raise ValueError(f"session {session_id} is {status!r}, not 'recording'")
        if not store.holds_lock(session_id):
            raise ValueError(
                f"session {session_id} was not created by this store (its recording lock is not held here); "
                "create it with store.create_session() on the same Store, or use Recorder.create()"
            )

        nxt = next_ordinals(store, session_id)
        self._next_seq = nxt.seq
        self._next_gap = nxt.gap
        self._next_event = nxt.event
        self._next_phase = nxt.phase
        self._open_phases: dict[str, int] = {}  # name -> ordinal of a begun, not yet ended phase
        self._rows = Rows()  # buffered raw rows (sessions.store_rows), written by _write
        self._beats = self._rows.beats  # (the same list: add_beat appends to it)
        self._others = 0  # raw rows other than beats buffered (gaps, events, phases, phase ends)
        self._labels: list[LabelRow] = []  # artifact labels not yet committed (derived rows)
        self._indices: list[Row] = []  # (seq, indices) not yet committed (derived rows)
        # Committed rows still stored as JSON chunks (one per block of CHUNK_BEATS rows per commit
        # that wrote indices), merged into columnar chunks CHUNK_BEATS at a time (encoded by a
        # _Merge, written by a later commit), and at the end.
        self._tail: list[Row] = []
        self._last_indices_seq = nxt.last_indices_seq
        # whole blocks of CHUNK_BEATS rows of tail + pending indices, from the first, being encoded
        # or encoded and not yet written (one thread at a time; in order, consecutive)
        self._merges: list[_Merge] = []
        self._covered = 0  # rows of tail + pending indices that the merges cover (all from the first)
        self._final = False  # set by finish(): its flush merges the whole tail
        # columnar chunks of whole blocks encoded elsewhere from the same rows (offer_block_chunks):
        # first seq -> (last seq, chunks); used by the merge of that block instead of encoding it
        self._offered: dict[int, tuple[int, list[Chunk]]] = {}
        self.blocks_encoded_elsewhere = 0  # merged blocks whose chunks were offered (for tests and benchmarks)
        self._recent: deque[BeatRow] = deque(maxlen=RECENT_BEATS)  # the latest beat rows (t_s, seq in them)
        self._now = self.clock.monotonic_s
        self._last_commit_s = self._now()
        self._last_derived_s = self._last_commit_s  # when labels and indices were last committed
        self._last_commit_t_s = 0.0  # the latest session time committed
        # the session time a commit is counted from: the latest committed or, if earlier, that of
        # the first row buffered since (min of the two); the latest session time buffered since
        self._since_t_s = 0.0
        self._pending_last_t_s = -math.inf
        set_busy_wait(store, BUSY_WAIT_MS)  # this store's connection records now
        self.commits = 0  # number of transactions written (for tests and benchmarks)
        self.failed_commits = 0  # commits that the store refused (kept in memory, retried)
        self.store_error: StoreError | None = None  # the latest refusal, None once a commit succeeds
        self.finished_status: str | None = None
        self.checkpointer: WalCheckpointer | None = None
        if background_checkpoints:
            set_auto_checkpoint(store, BACKSTOP_PAGES)  # (first: a thread is started only once this is done)
            self.checkpointer = WalCheckpointer(store.path)

    @classmethod
    def create(
        cls, store: Store, new: NewSession, *, clock: Clock | None = None, commit_interval_s: float = 1.0,
        background_checkpoints: bool = False,
    ) -> "Recorder":
        """Create a ``recording`` session from ``new`` and return its recorder (``.session_id``)."""
        session_id = store.create_session(new)
        return cls(store, session_id, clock=clock, commit_interval_s=commit_interval_s,
                   background_checkpoints=background_checkpoints)

    # -- recording -------------------------------------------------------------------------------

    @property
    def n_beats(self) -> int:
        """Beats recorded so far (committed or buffered); the next beat's seq."""
        return self._next_seq

    def add_beat(self, beat: Beat) -> int:
        """Record one raw beat; return its ``seq`` (0, 1, 2... in call order)."""
        # (called for every beat: fields of exactly the types stored are taken as they are; any
        # other value is converted and checked as _finite does)
        if self.finished_status is not None:
            self._check_open()
        rr = beat.rr_ms
        if type(rr) is not float:
            rr = float(rr)
        if not 0.0 < rr < math.inf:
            raise ValueError(f"rr_ms must be finite and > 0, got {beat.rr_ms!r}")
        t_s = beat.t_s
        if type(t_s) is not float or not -math.inf < t_s < math.inf:
            t_s = _finite("t_s", t_s)
        arrival_s = beat.arrival_s
        if arrival_s is not None and (type(arrival_s) is not float or not -math.inf < arrival_s < math.inf):
            arrival_s = _finite("arrival_s", arrival_s)
        ticks = beat.rr_ticks_1024
        if ticks is not None and type(ticks) is not int:
            ticks = int(ticks)
        contact = None if beat.contact is None else 1 if beat.contact else 0
        seq = self._next_seq
        row: BeatRow = (self.session_id, seq, ticks, rr, arrival_s, t_s, contact)
        self._beats.append(row)
        self._recent.append(row)
        self._next_seq = seq + 1
        self.poll(t_s)
        return seq

    def seq_for_t(self, t_s: float) -> int:
        """The seq of the recent beat (one of the last ``RECENT_BEATS``) whose ``t_s`` equals ``t_s``
        exactly: maps an engine output (which lags by its look-ahead) back to its beat."""
        for row in reversed(self._recent):
            if row[5] == t_s:
                return row[1]
        raise KeyError(f"no recent beat at t_s={t_s!r}")

    def set_artifact_label(self, seq: int, label: str | None) -> None:
        """Set the engine's artifact label of beat ``seq`` (only the ``artifact`` column changes)."""
        self._check_open()
        if not 0 <= seq < self._next_seq:
            raise ValueError(f"no beat with seq {seq} (recorded: {self._next_seq})")
        self._labels.append((label, self.session_id, int(seq)))
        self.poll()

    def add_gap(self, gap: Gap) -> GapEvent:
        """Record a gap (also recorded as a ``gap`` event, returned), placed after the beats recorded so far."""
        self._check_open()
        start_s = _finite("start_s", gap.start_s)
        end_s = _finite("end_s", gap.end_s)
        self._rows.gaps.append((self.session_id, self._next_gap, self._next_seq, start_s, end_s, str(gap.reason)))
        self._others += 1
        self._next_gap += 1
        event = GapEvent(gap.start_s, str(gap.reason), gap.start_s, gap.end_s)
        self.record(event)
        return event

    def record(self, event: Event) -> None:
        """Record a typed event (:mod:`biofeedback.events`: connected, prompt shown, user marker...)."""
        self.add_event(event.t_s, event.kind, event.data)

    def add_event(self, t_s: float, kind: str, data: Mapping[str, Any] | None = None) -> None:
        """Record an event row: ``kind`` and ``data`` as :meth:`record` writes them for a typed event
        (use :meth:`record`; this is the row writer under it).

        ``data`` must be JSON-serialisable (values that are not are stored as their ``str``).
        """
        self._check_open()
        _finite("t_s", t_s)
        self._rows.events.append(event_row(self.session_id, self._next_event, self._next_seq, t_s, kind, data))
        self._others += 1
        self._next_event += 1
        self.poll(float(t_s))

    def begin_phase(self, name: str, t_s: float) -> PhaseBegin:
        """Start phase ``name`` (``baseline``, ``practice``, ``recovery``) at ``t_s``; return the
        ``phase_begin`` event recorded with it."""
        self._check_open()
        _finite("t_s", t_s)
        if name in self._open_phases:
            raise ValueError(f"phase {name!r} already begun")
        ordinal = self._next_phase
        self._next_phase += 1
        self._open_phases[name] = ordinal
        self._rows.phases.append((self.session_id, ordinal, name, float(t_s)))
        self._others += 1
        event = PhaseBegin(float(t_s), name)
        self.record(event)
        return event

    def end_phase(self, name: str, t_s: float) -> PhaseEnd:
        """End phase ``name`` at ``t_s``; return the ``phase_end`` event recorded with it."""
        self._check_open()
        _finite("t_s", t_s)
        ordinal = self._open_phases.pop(name, None)
        if ordinal is None:
            raise ValueError(f"phase {name!r} was not begun (or already ended)")
        self._rows.phase_ends.append((float(t_s), self.session_id, ordinal))
        self._others += 1
        event = PhaseEnd(float(t_s), name)
        self.record(event)
        return event

    def add_indices(self, seq: int, indices: Mapping[str, Any]) -> None:
        """Record what was shown for beat ``seq``: ``BeatIndices.to_json_dict()`` (any mapping of
        JSON values; read back as JSON would give it). Once per beat, in seq order; stored in chunks
        (:mod:`sessions.index_chunks`)."""
        self._check_indices_seq(seq)
        self._indices.append((int(seq), normalise(indices)))
        self._last_indices_seq = int(seq)
        self.poll()

    def add_settled(self, seq: int, values: dict[str, Any], label: str | None) -> None:
        """Record what the engine settled for beat ``seq`` in one call, as the live runner does for
        every beat: :meth:`add_indices` of ``values`` and :meth:`set_artifact_label` of ``label``.

        ``values`` must be what ``BeatIndices.to_json_dict()`` returns, a new dict of text keys and
        plain JSON values (float, int, str, bool, ``None``) that nobody changes afterwards: it is
        stored as given, without :meth:`add_indices`' copy and checks (about 5 us a beat at
        ``--speed max``), and reads back the same as through :meth:`add_indices`."""
        if self.finished_status is not None or not self._last_indices_seq < seq < self._next_seq:
            self._check_indices_seq(seq)  # raises
        self._indices.append((seq, values))
        self._labels.append((label, self.session_id, seq))
        self._last_indices_seq = seq
        self.poll()

    def _check_indices_seq(self, seq: int) -> None:
        """``ValueError`` unless ``seq`` is a recorded beat after the last one given indices (once per
        beat, in seq order): the check of :meth:`add_indices` and :meth:`add_settled`."""
        self._check_open()
        if not 0 <= seq < self._next_seq:
            raise ValueError(f"no beat with seq {seq} (recorded: {self._next_seq})")
        if seq <= self._last_indices_seq:
            raise ValueError(
                f"the indices of beat {seq} come after those of beat {self._last_indices_seq}: "
                "they are recorded once per beat, in seq order"
            )

    # -- committing ------------------------------------------------------------------------------

    def poll(self, t_s: float | None = None) -> bool:
        """Commit if ``commit_interval_s`` of real time has passed since the last commit, or if
        session time ``t_s`` (of the item just recorded) is that far past the last commit's, or if
        labels or indices have waited that long in real time; True if it committed. A store that
        refuses the commit (:attr:`store_error`) does not raise here: the rows stay buffered and the
        next due commit retries."""
        if t_s is not None:
            if t_s < self._since_t_s:
                self._since_t_s = t_s
            if t_s > self._pending_last_t_s:
                self._pending_last_t_s = t_s
        now = self._now()
        interval = self.commit_interval_s
        if now - self._last_commit_s >= interval or self._pending_last_t_s - self._since_t_s >= interval:
            # derived rows ride along once half an interval of real time has passed since they
            # were last written: with every commit in real time, about twice a second of real
            # time when the session runs faster (a commit per session second carries raw rows)
            derived = now - self._last_derived_s >= interval / 2
        elif now - self._last_derived_s >= interval and (self._labels or self._indices):
            derived = True
        else:
            return False
        try:
            self._commit(derived, now)
        except StoreError:
            return False
        return True

    @property
    def unstored_beats(self) -> int:
        """Beats recorded but not (yet) in the store."""
        return len(self._rows.beats)

    @property
    def pending(self) -> int:
        """Rows buffered and not yet committed (raw rows, labels and indices)."""
        return len(self._rows) + len(self._labels) + len(self._indices)

    def flush(self) -> None:
        """Write everything buffered (raw rows, labels and indices) in one transaction now.
        :class:`~sessions.store.StoreError` if the store refuses it (disk full, read-only, busy):
        then nothing is lost, the rows stay buffered for the next attempt."""
        self._commit(True, self._now())

    def _commit(self, derived: bool, now: float) -> None:
        """One transaction (at ``now`` on the clock): the buffered raw rows, and with ``derived``
        the labels and indices too."""
        self._last_commit_s = now
        if self._pending_last_t_s > self._last_commit_t_s:
            self._last_commit_t_s = self._pending_last_t_s
        if not derived and not self._others:  # beats only: each commit per session second at --speed max
            if self._beats:
                try:
                    insert_beats(self.store, self._beats)
                except StoreError as exc:
                    self._refused(exc)
                    raise
                self._beats.clear()
                self._committed()
            else:
                self._since_t_s, self._pending_last_t_s = self._last_commit_t_s, -math.inf
            return
        if not (self._beats or self._others
                or (derived and (self._labels or self._indices or (self._final and self._tail)))):
            self._last_derived_s = now  # (derived: nothing derived to write)
            self._since_t_s, self._pending_last_t_s = self._last_commit_t_s, -math.inf
            return
        try:
            tail, merged = self._write(derived)
        except StoreError as exc:
            self._refused(exc)
            raise
        if derived:
            self._last_derived_s = now
            if tail is None:
                self._tail.extend(self._indices)
            else:
                self._tail = tail
                self._covered -= sum(len(m.rows) for m in self._merges[:merged])
                del self._merges[:merged]  # written (or, at the end, no longer needed)
            self._labels = []
            self._indices = []
        self._rows.clear()
        self._others = 0
        self._committed()

    def _committed(self) -> None:
        """After a successful commit: no store error, session time counted from what was just
        committed, and a merge of every whole block of CHUNK_BEATS rows not yet merged, once the
        merges before are done."""
        self.store_error = None
        self._since_t_s, self._pending_last_t_s = self._last_commit_t_s, -math.inf
        self.commits += 1
        if self.checkpointer is not None and self.commits % CHECKPOINT_EVERY_COMMITS == 0:
            self.checkpointer.request()
        uncovered = len(self._tail) + len(self._indices) - self._covered
        if uncovered >= CHUNK_BEATS and not self._final and (not self._merges or self._merges[-1].done()):
            covered = self._covered
            rows = (self._tail + self._indices)[covered:covered + uncovered // CHUNK_BEATS * CHUNK_BEATS]
            known = self._offered_for(rows)
            self.blocks_encoded_elsewhere += len(known)
            self._merges.append(_Merge(rows, known))
            self._covered += len(rows)

    def offer_block_chunks(self, first_seq: int, last_seq: int, chunks: list[Chunk]) -> None:
        """The columnar chunks of the indices of beats ``first_seq`` .. ``last_seq``, encoded elsewhere
        (:func:`~sessions.index_chunks.columnar_chunks`) from the same rows this recorder is given
        (``to_json_dict`` of the same beats): at ``--speed max`` the engine's helper process encodes
        each whole block of CHUNK_BEATS beats it settles (:mod:`sessions.engine_worker`). The merge of
        a block whose rows are exactly those (its first and last seq, CHUNK_BEATS rows, and the
        chunks covering them without a gap) writes these chunks instead of encoding them here; any
        other offer is ignored, and a block never offered is encoded here as before."""
        if self._offered and min(self._offered) < first_seq - 8 * CHUNK_BEATS:  # never used: dropped
            self._offered = {k: v for k, v in self._offered.items() if k >= first_seq - 8 * CHUNK_BEATS}
        self._offered[first_seq] = (last_seq, list(chunks))

    def _offered_for(self, rows: list[Row]) -> dict[int, list[Chunk]]:
        """Of the blocks of ``rows`` (CHUNK_BEATS rows each), those with offered chunks that cover
        exactly their rows: block start -> chunks."""
        known: dict[int, list[Chunk]] = {}
        for start in range(0, len(rows), CHUNK_BEATS):
            first, last = rows[start][0], rows[start + CHUNK_BEATS - 1][0]
            offer = self._offered.pop(first, None)
            if offer is None or offer[0] != last or last - first != CHUNK_BEATS - 1:
                continue
            chunks = offer[1]
            seqs = [(c.first_seq, c.last_seq, c.n) for c in chunks]
            if (seqs and seqs[0][0] == first and seqs[-1][1] == last and sum(n for _, _, n in seqs) == CHUNK_BEATS
                    and all(b[0] == a[1] + 1 for a, b in zip(seqs, seqs[1:]))
                    and all(hi - lo + 1 == n for lo, hi, n in seqs)):
                known[start] = chunks
        return known

    def _refused(self, exc: StoreError) -> None:
        """A commit the store refused: everything stays buffered; retried after another commit
        interval of session time (or of real time), not on every call."""
        self.failed_commits += 1
        self.store_error = exc
        self._since_t_s = min(self._last_commit_t_s, self._pending_last_t_s)

    def _index_chunks(self) -> tuple[list[IndexChunkRow], list[Row] | None, tuple[int, int] | None, int]:
        """What a commit that writes indices writes to ``beat_index_chunks``: ``(rows to insert,
        the tail left (None: the tail followed by the pending rows), the first and last seq of the
        tail's JSON chunks to delete first (their first seq in that range) or None, the number of
        merges written)``.

        The rows of the recorder fall in blocks of CHUNK_BEATS (the first block from its first
        row). As soon as the rows not yet merged (the tail's, then the pending ones) hold a whole
        block, every such block is encoded as columnar chunks on a thread of its own
        (:class:`_Merge`, one at a time); a commit of indices after that writes the merges done in
        place of the JSON chunks of their rows. The pending rows not merged go as JSON chunks, one
        per block they fall in: a JSON chunk never holds rows of two blocks, so a merged block
        replaces whole JSON chunks and the JSON rows after it stay as they are (each row is written
        as JSON once at most). At the end every row left is merged (the same chunks as merging at
        once: a merge always takes whole blocks of CHUNK_BEATS rows from the first row not yet
        merged)."""
        pending = self._indices
        merges = self._merges
        tail = self._tail
        sid = self.session_id
        if self._final:
            rows = tail + pending
            if not rows:
                return [], None, None, 0
            chunks = [c for m in merges for c in m.wait()]
            chunks += columnar_chunks(rows[self._covered:])
            out = [(sid, c.first_seq, c.last_seq, c.n, c.data) for c in chunks]
            return out, [], (tail[0][0], tail[-1][0]) if tail else None, len(merges)
        done = 0
        while done < len(merges) and merges[done].done():
            done += 1
        merged = sum(len(m.rows) for m in merges[:done])  # whole blocks from the tail's first row
        out = [(sid, c.first_seq, c.last_seq, c.n, c.data) for m in merges[:done] for c in m.wait()]
        # the pending rows not merged, one JSON chunk per block (the tail's first row begins one)
        start = max(merged - len(tail), 0)
        offset = len(tail) + start  # of pending[start] from the tail's first row
        while start < len(pending):
            end = min(start + CHUNK_BEATS - offset % CHUNK_BEATS, len(pending))
            part = pending[start:end]
            out.append((sid, part[0][0], part[-1][0], len(part), encode_json_rows(part)))
            offset += end - start
            start = end
        if not done:
            return out, None, None, 0
        replaced = (tail[0][0], tail[min(merged, len(tail)) - 1][0]) if tail else None
        return out, (tail + pending)[merged:], replaced, done

    def _write(self, derived: bool) -> tuple[list[Row] | None, int]:
        """Write the buffered raw rows, with ``derived`` the labels and indices too, in one
        transaction; return the tail of JSON-chunk rows left (None: the tail followed by the rows
        just written, or no indices written) and the number of merges written."""
        rows = self._rows
        tail, merged = None, 0
        if derived:
            chunks, tail, replaced, merged = self._index_chunks()
            rows.labels = self._labels
            rows.index_chunks = chunks
            rows.index_chunks_replaced = None if replaced is None else (self.session_id, *replaced)
        try:
            with self.store.transaction():
                write_rows(self.store, rows)
        finally:  # derived again at the next attempt, from the buffered labels and indices
            rows.labels = []
            rows.index_chunks = []
            rows.index_chunks_replaced = None
        return tail, merged

    def finish(self, status: str = "complete", end_reason: str | None = None) -> None:
        """Flush, then mark the session ``complete`` or ``incomplete`` with its end time and why it
        ended (:data:`~sessions.store.END_REASONS`), and release the recording lock. Idempotent:
        later calls do nothing."""
        if self.finished_status is not None:
            return
        if status not in ("complete", "incomplete"):
            raise ValueError(f"status must be 'complete' or 'incomplete', got {status!r}")
        set_busy_wait(self.store, FINAL_BUSY_WAIT_MS)
        self._final = True
        try:
            self._finish(status, end_reason)
        finally:
            self._end_checkpoints()

    def _finish(self, status: str, end_reason: str | None) -> None:
        """:meth:`finish`'s work: the last flush, then the session's status (the checkpoint thread
        still runs meanwhile)."""
        try:
            self.flush()
        except StoreError as exc:
            self.finished_status = "incomplete"
            try:
                self.store.finish_session(self.session_id, "incomplete", self.clock.wall_now(), end_reason)
            except StoreError:
                pass  # the lock is released; the next opening of the store marks it incomplete
            stored = self._next_seq - self.unstored_beats
            raise StoreError(
                f"{exc}: {self.unstored_beats} of the {self._next_seq} beats of session {self.session_id} "
                f"could not be stored (the first {stored} are safe in the store)"
            ) from exc
        except BaseException:
            self.finished_status = "incomplete"
            self.store.finish_session(self.session_id, "incomplete", self.clock.wall_now(), end_reason)
            raise
        self.finished_status = status
        self.store.finish_session(self.session_id, status, self.clock.wall_now(), end_reason)

    def _end_checkpoints(self) -> None:
        """Stop the checkpoint thread, if any, and give the connection SQLite's own checkpoints back."""
        checkpointer, self.checkpointer = self.checkpointer, None
        if checkpointer is not None:
            checkpointer.close()
            try:
                set_auto_checkpoint(self.store, AUTO_CHECKPOINT_PAGES)
            except sqlite3.Error:  # a store closed meanwhile: nothing to give back
                pass

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish("complete" if exc_type is None else "incomplete")

    def _check_open(self) -> None:
        if self.finished_status is not None:
            raise ValueError(f"session {self.session_id} is finished ({self.finished_status}); nothing more is recorded")


class _Merge:
    """The columnar chunks of ``rows`` (:func:`~sessions.index_chunks.columnar_chunks`), encoded on
    a thread of its own: at ``--speed max`` a merge of CHUNK_BEATS rows took ~15-30 ms of the
    session's thread every ~1000 beats; zlib, ~40 % of it, releases the GIL. The rows are not
    changed meanwhile (the recorder never changes a row it buffered)."""

    def __init__(self, rows: list[Row], known: dict[int, list[Chunk]] | None = None):
        self.rows = rows
        self._known = known or {}  # block start -> its chunks, encoded elsewhere (offer_block_chunks)
        self._chunks: list[Chunk] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if len(self._known) * CHUNK_BEATS == len(rows):  # every block's chunks are there
            self._run()
        else:
            self._thread = threading.Thread(target=self._run, name="biofeedback-merge", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:  # block by block: the chunks of merging each block of CHUNK_BEATS rows on its own
            known = self._known
            self._chunks = [chunk for start in range(0, len(self.rows), CHUNK_BEATS)
                            for chunk in (known[start] if start in known
                                          else columnar_chunks(self.rows[start:start + CHUNK_BEATS]))]
        except BaseException as exc:  # raised again by wait(), on the recorder's thread
            self._error = exc

    def done(self) -> bool:
        return self._thread is None or not self._thread.is_alive()

    def wait(self) -> list[Chunk]:
        """The chunks (waits for the thread if it is still encoding)."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._chunks is not None
        return self._chunks


def _finite(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number
