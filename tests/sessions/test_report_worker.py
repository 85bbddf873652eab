"""The report's helper process: the same bytes as drawing in-process, and never needed for a report."""

from __future__ import annotations

import subprocess
import sys

from sessions.report import report_bytes
from sessions.report_worker import FigureWorker
from tests.sessions.test_report import synthetic


def _fake(code: str) -> FigureWorker:
    """A worker process that runs ``code`` instead of drawing."""
    return FigureWorker(subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE))


def test_the_worker_draws_the_same_page_as_this_process() -> None:
    data = synthetic()
    worker = FigureWorker.start()
    assert worker is not None
    with worker:
        page = worker.draw(data, "html")  # the page embeds the figure: both compared at once
    assert page is not None, "the worker failed"
    assert page == report_bytes(data, "html")


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
    worker = FigureWorker.start()
    assert worker is not None
    worker.close()  # e.g. the session was unknown: no figure to draw
    assert worker._process.returncode is not None
