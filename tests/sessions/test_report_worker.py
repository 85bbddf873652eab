"""The report's helper process: the same bytes as drawing in-process, and never needed for a report."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from sessions.report import FigureDraft, figure_png, report_bytes
from sessions.report_worker import FigureWorker
from tests.sessions.test_report import synthetic


def _fake(code: str) -> FigureWorker:
    """A worker process that runs ``code`` instead of drawing."""
    return FigureWorker(subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE))


def test_a_failing_or_garbled_worker_leaves_the_report_to_this_process() -> None:
    data = synthetic()
    for code in ("import sys; sys.exit(3)",  # dies
                 "import sys; sys.stdin.buffer.read(); print('hello')",  # answers something else
                 "import sys; sys.stdin.close(); sys.exit(0)"):  # reads nothing, says nothing
        with _fake(code) as worker:
            assert worker.draw(data, "png") is None
    with _fake("import sys; sys.exit(3)") as worker:
        assert worker.report_bytes(data, "png") == report_bytes(data, "png")


def test_a_worker_given_no_data_is_ended() -> None:
    worker = FigureWorker.start(cores=2)  # whatever this machine has
    assert worker is not None
    worker.close()  # e.g. the session was unknown: no figure to draw
    assert worker._process.returncode is not None


def test_a_draft_finished_with_its_summary_is_the_figure_drawn_at_once() -> None:
    """The panels drawn before the summary is known (room for a summary of one line), then the
    heading drawn onto them: the same PNG as drawing the final data in one go. (A summary of another
    length moves the panels: :meth:`FigureDraft.png` then draws the final data again.)"""
    draft_data = dataclasses.replace(synthetic(), subtitle="2026-12-01 21:45 · resonance · 500 beats")
    final = dataclasses.replace(
        draft_data, summary="During the practice your RMSSD rose by 12 ms (30 %), beyond the noise of this session.")
    assert FigureDraft(draft_data).png(final) == figure_png(final)


def test_the_worker_drafts_the_panels_then_finishes_the_same_page_as_this_process() -> None:
    draft_data = synthetic()
    tables = draft_data.tables
    draft_data = dataclasses.replace(draft_data, tables=())
    final = dataclasses.replace(draft_data, summary="Your heart rate fell by 3 bpm.", tables=tables, legend="* a mark")
    worker = FigureWorker.start(cores=2)  # whatever this machine has
    assert worker is not None
    with worker:
        worker.send_draft(draft_data)
        page = worker.draw(final, "html")
    assert page is not None, "the worker failed"
    assert page == report_bytes(final, "html")


def test_no_worker_on_a_single_core() -> None:
    """With one core the worker would only add its start-up: the report is drawn in-process."""
    assert FigureWorker.start(cores=1) is None


def test_data_that_does_not_complete_the_draft_is_drawn_whole() -> None:
    """Another figure than the draft (here: another title) is sent and drawn whole, not the draft."""
    draft_data = dataclasses.replace(synthetic(), tables=())
    other = dataclasses.replace(synthetic(), title="Another session")
    worker = FigureWorker.start(cores=2)
    assert worker is not None
    with worker:
        worker.send_draft(draft_data)
        png = worker.draw(other, "png")
    assert png == figure_png(other)
