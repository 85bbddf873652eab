"""The report's figure drawn by a helper process while the session is read and compared.

Of the ~6 s of ``biofeedback report`` of a 24 h session, about two have nothing to do with the
session's numbers: importing matplotlib (~0.8 s) and drawing the figure (~1 s, its first figure
costing more). :class:`FigureWorker` starts a fresh, isolated Python process
(:func:`sessions.helper_process.start_helper`, running :func:`main`) as soon as the session is known;
on the machine's other core it imports
matplotlib and draws a tiny throw-away figure (fonts, artist machinery, Agg canvas) while this
process reads the session. :func:`sessions.report_data.report_data` hands over the figure's data
before it compares the phases (:meth:`FigureWorker.send_draft`), and the worker draws every panel
(:class:`sessions.report.FigureDraft`) while the comparison runs; :meth:`FigureWorker.report_bytes`
then sends what came from the comparison (the summary sentence, the tables) and gets back what
:func:`sessions.report.report_bytes` gives for the final data: the same code on the same data, so
the same bytes (``tests/sessions/test_report_worker.py``).

With a single usable CPU core no worker is started (it could only add its own start-up).
Nothing of the report depends on the worker: when it cannot be started, fails, or answers anything
unexpected, the report is drawn in this process as before (and a real error is raised there). The
worker is a child process on this machine talking through pipes (pickled data, from its parent
only): nothing leaves the machine, no file is written. A worker still running when the report ends
(a bad argument, an error) is killed.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sessions.report import ReportData

#: The first bytes of a worker's answer: what follows is the report (anything else is not trusted).
ANSWER_MAGIC = b"BFRW2\n"

#: Seconds allowed for the worker to answer once it has all the data, before the report is drawn here.
DRAW_TIMEOUT_S = 120.0


class FigureWorker:
    """A helper process drawing one report (see the module docstring); a context manager that
    always ends the process. :meth:`start` returns ``None`` when no process can be started."""

    def __init__(self, process: subprocess.Popen[bytes]):
        self._process = process
        self._draft: ReportData | None = None
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls, cores: int | None = None) -> FigureWorker | None:
        """Start the worker (it begins importing matplotlib at once); ``None`` if it cannot be, or
        when this process may run on fewer than two CPU cores (``cores``, default: those it may use),
        where a second process would only add its start-up to the report's time."""
        from sessions.helper_process import start_helper

        process = start_helper("sessions.report_worker", cores=cores)
        if process is None:
            return None
        return cls(process)

    def send_draft(self, draft: ReportData) -> None:
        """Hand the worker the figure's data before the comparison (``summary``, ``tables`` and
        ``legend`` still empty: :func:`sessions.report_data.report_data`'s ``on_figure``), so that it
        draws the panels meanwhile. Returns at once: a thread writes the data into the pipe."""
        if self._draft is not None or self._sender is not None:
            raise RuntimeError("the worker already has a draft")
        self._draft = draft
        payload = pickle.dumps(("draft", draft), protocol=pickle.HIGHEST_PROTOCOL)
        self._sender = threading.Thread(target=self._write, args=(payload,), name="report-worker-send", daemon=True)
        self._sender.start()

    def _write(self, payload: bytes) -> None:
        stdin = self._process.stdin
        try:
            if stdin is not None:
                stdin.write(payload)
                stdin.flush()
        except (OSError, ValueError):  # the worker is gone: report_bytes draws here
            pass

    def report_bytes(self, data: ReportData, kind: str) -> bytes:
        """:func:`sessions.report.report_bytes` of ``data`` and ``kind``, drawn by the worker, or drawn
        here when the worker fails (:meth:`draw`)."""
        out = self.draw(data, kind)
        if out is None:
            from sessions.report import report_bytes

            return report_bytes(data, kind)
        return out

    def draw(self, data: ReportData, kind: str) -> bytes | None:
        """The worker's :func:`sessions.report.report_bytes` of ``data`` and ``kind``; ``None`` when it
        failed. After :meth:`send_draft`, ``data`` is the draft with its ``summary``, ``tables`` and
        ``legend`` filled in, and only those are sent. The worker's own messages (matplotlib's
        warnings) are passed on to this process's standard error when it succeeds."""
        message: tuple[Any, ...]
        if self._draft is not None and _completes(self._draft, data):
            message = ("finish", data.summary, data.tables, data.legend, kind)
        else:
            message = ("report", data, kind)
        if self._sender is not None:
            self._sender.join()
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            out, err = self._process.communicate(payload, timeout=DRAW_TIMEOUT_S)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.close()
            return None
        if self._process.returncode != 0 or not out.startswith(ANSWER_MAGIC):
            return None
        if err:
            sys.stderr.write(err.decode("utf-8", "replace"))
            sys.stderr.flush()
        return out[len(ANSWER_MAGIC):]

    def close(self) -> None:
        """End the worker: a worker still running (no data sent, or a failed exchange) is killed;
        nothing of the report depends on it."""
        process = self._process
        if process.poll() is None:
            process.kill()
        process.wait()
        if self._sender is not None:
            self._sender.join()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except OSError:  # a write the killed worker never read
                    pass

    def __enter__(self) -> FigureWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _completes(draft: ReportData, data: ReportData) -> bool:
    """Whether ``data`` is ``draft`` with only its summary, tables and legend filled in (checked on
    what is cheap to compare; :func:`sessions.report_data.report_data` builds it so)."""
    return (draft.title == data.title and draft.subtitle == data.subtitle and draft.lang == data.lang
            and draft.phases == data.phases and draft.events == data.events
            and len(draft.spectra) == len(data.spectra) and draft.rr_ms.shape == data.rr_ms.shape
            and draft.poincare_x_ms.shape == data.poincare_x_ms.shape and not draft.summary and not draft.tables)


def _warm_up() -> None:
    """Import matplotlib and draw a tiny figure (one panel, a title, a line) on an Agg canvas, so
    that the fonts, the artist classes and the canvas are ready when the data comes (a 24 h
    report's panels are then drafted in ~0.75 s instead of ~1 s; drawing a whole report figure
    here instead gains no more)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    import sessions.report  # noqa: F401 - what the data is unpickled into

    figure = Figure(figsize=(2.0, 2.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title("0")
    axes.plot([0.0, 1.0], [0.0, 1.0])
    figure.canvas.draw()


def main() -> int:
    """The worker: warm up, then read ``("draft", data)`` and ``("finish", summary, tables, legend,
    kind)``, or ``("report", data, kind)``, from standard input and write the report."""
    import dataclasses

    try:
        _warm_up()
    except Exception:  # noqa: BLE001 - the report is then drawn by the parent, which reports errors
        return 1
    from sessions.report import FigureDraft, report_bytes

    stdin = sys.stdin.buffer
    try:
        message = pickle.load(stdin)
        draft = None
        if message[0] == "draft":
            draft = FigureDraft(message[1])
            message = pickle.load(stdin)
        if message[0] == "finish" and draft is not None:
            _, summary, tables, legend, kind = message
            final = dataclasses.replace(draft.data, summary=summary, tables=tables, legend=legend)
            out = report_bytes(final, kind, png=draft.png(final))
        else:  # ("report", data, kind): the whole report (the parent's data did not complete the draft)
            _, data, kind = message
            out = report_bytes(data, kind)
    except EOFError:
        return 0  # the parent ended without all the data: nothing to draw
    sys.stdout.buffer.write(ANSWER_MAGIC + out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
