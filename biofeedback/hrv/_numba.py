"""numba's ``njit`` for the compiled kernels, imported without numba's detours through ``scipy.linalg`` and ``cffi``.

The kernel modules (:mod:`biofeedback.hrv._kernels`, :mod:`~biofeedback.hrv._beat_kernels`,
:mod:`~biofeedback.hrv._entropy_kernels`, :mod:`biofeedback.hrv.artifacts._kernels`) take ``njit``
from here, never from numba directly, so this runs once before any kernel is defined.

Why: numba's ``numba.np.arraymath``, imported when the first compiled function is typed, probes for
a BLAS by importing ``scipy.linalg.cython_blas``; that imports ``scipy.linalg`` and its
dependencies, 0.2-0.25 s of every command's start-up on the development machine, only to decide
whether ``np.correlate``/``np.convolve`` inside compiled code may call BLAS. No kernel of this
package uses BLAS or LAPACK (no ``np.dot``, ``@``, ``np.linalg``, ``np.correlate``,
``np.convolve``: ``tests/hrv/test_numba_start.py`` checks the sources). So :func:`import_without`
imports ``numba.np.arraymath`` while ``scipy.linalg`` cannot be imported; the probe fails, numba notes
"no BLAS" for those two functions, and ``scipy.linalg`` is importable again right after. Compiled
results do not change (the kernels never reach that choice), and compiled linear algebra, if a
kernel ever used it, would still work: numba imports ``scipy.linalg`` again when it compiles one.
The numpy-level code that wants ``scipy.linalg`` (the smoothness-prior detrending, the natural
spline's solver) imports it when called, as before.

Likewise numba's ``numba.core.typing.cffi_utils``, imported by the same first call, builds a
``cffi.FFI()`` (pycparser parsing C declarations, ~0.06 s) so that compiled code may call cffi
functions; no kernel does, so it is imported with ``cffi`` unimportable for that moment (cffi
itself stays importable for anything else in the process).
"""

from __future__ import annotations

import importlib
import sys

from numba import njit

__all__ = ["njit"]


#: numba's modules that probe an optional library when imported, and that library
PROBES = (("numba.np.arraymath", "scipy.linalg"), ("numba.core.typing.cffi_utils", "cffi"))


def import_without(module: str, optional: str) -> None:
    """Import numba's ``module`` with ``optional`` unimportable for that moment (see above); nothing
    to do if either is already imported."""
    if module in sys.modules or optional in sys.modules:
        return
    sys.modules[optional] = None  # type: ignore[assignment]  # its import -> ModuleNotFoundError
    try:
        importlib.import_module(module)
    finally:
        if optional in sys.modules and sys.modules[optional] is None:
            del sys.modules[optional]


for _module, _optional in PROBES:
    import_without(_module, _optional)
