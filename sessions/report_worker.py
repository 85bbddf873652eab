"""The report's figure drawn by a helper process that starts while the session is still being read.

``biofeedback report`` of a 24 h session spends about a second before it draws anything that has
nothing to do with the session: importing matplotlib (~0.8 s) and matplotlib's first figure (its
fonts and artist machinery, ~0.3 s). :class:`FigureWorker` starts a fresh Python process
(``python -m sessions.report_worker``) as soon as the session is known; that process imports
matplotlib and draws a small throw-away figure on the machine's other core while the report
reads the session and compares its phases, then waits for the :class:`~sessions.report.ReportData`.
:meth:`FigureWorker.report_bytes` sends it (pickled, through the worker's standard input) and
returns what :func:`sessions.report.report_bytes` returns for it, computed by the worker: the same
code on the same data, so the same bytes (``tests/sessions/test_report_worker.py``).

Nothing of the report depends on the worker: when it cannot be started, fails, or says anything
unexpected, the report is drawn in this process as before (and any real error is raised there).
The worker is a child process on this machine talking through pipes: nothing leaves the machine,
no file is written. It reads only what its parent sends; when the parent ends without sending
data (a bad argument, an error), the worker is killed.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sessions.report import ReportData

#: The first bytes of a worker's answer: what follows is the report (anything else is not trusted).
ANSWER_MAGIC = b"BFRW1\n"

#: Seconds allowed for the worker to draw after it received the data, before the report is drawn here.
DRAW_TIMEOUT_S = 120.0


class FigureWorker:
    """A helper process drawing one report (see the module docstring); a context manager that
    always ends the process. :meth:`start` returns ``None`` when no process can be started."""

    def __init__(self, process: subprocess.Popen[bytes]):
        self._process = process

    @classmethod
    def start(cls) -> FigureWorker | None:
        """Start the worker (it begins importing matplotlib at once); ``None`` if it cannot be."""
        if not sys.executable:
            return None
        env = dict(os.environ)
        # the modules this process imports, wherever they came from (a checkout, PYTHONPATH, a venv)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if isinstance(p, str) and p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "sessions.report_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            )
        except OSError:
            return None
        return cls(process)

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
        failed (it is ended then). The worker's own messages (matplotlib's warnings) are passed on
        to this process's standard error when it succeeds."""
        payload = pickle.dumps((data, kind), protocol=pickle.HIGHEST_PROTOCOL)
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
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> FigureWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _warm_up() -> None:
    """Import matplotlib and draw a small figure with the report's own code, so that the fonts,
    the artist classes and the Agg canvas are ready when the data comes."""
    import numpy as np

    from sessions.report import ReportData, ReportPhase, Series, figure_png

    t = np.arange(1.0, 61.0)
    rr = 900.0 + 50.0 * np.sin(t)
    figure_png(ReportData(
        title="0", beat_t_s=t, rr_ms=rr, phases=(ReportPhase("baseline", 0.0, 60.0),),
        rmssd=Series(t, rr / 20.0), coherence=Series(t, rr / 300.0), summary="0", subtitle="0",
    ))


def main() -> int:
    """The worker: warm up, read ``(ReportData, kind)`` from standard input, write the report."""
    try:
        _warm_up()
    except Exception:  # noqa: BLE001 - the report is then drawn by the parent, which reports errors
        return 1
    payload = sys.stdin.buffer.read()
    if not payload:
        return 0  # the parent ended without data: nothing to draw
    from sessions.report import report_bytes

    data, kind = pickle.loads(payload)
    out = report_bytes(data, kind)
    sys.stdout.buffer.write(ANSWER_MAGIC + out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
