"""The compiled kernels load without numba's probes of scipy.linalg and cffi (biofeedback.hrv._numba),
and that is safe: no kernel uses what those probes are for."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import biofeedback

PACKAGE = Path(biofeedback.__file__).parent
KERNEL_MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "njit" in p.read_text() and p.name != "_numba.py")

# In a fresh interpreter: load every kernel module, call a kernel (numba's first call builds its
# typing and target context), then say what got imported; then scipy.linalg and cffi must still work.
_CHILD = r"""
import json, sys
import numpy as np
import biofeedback.hrv._kernels, biofeedback.hrv._beat_kernels, biofeedback.hrv._entropy_kernels
import biofeedback.hrv.artifacts._kernels
from biofeedback.hrv._kernels import spacing_range
lo, hi = spacing_range(np.array([0.0, 1.0, 3.0]))
seen = {name: name in sys.modules for name in ("scipy.linalg", "cffi")}
from scipy.linalg import solveh_banded
x = solveh_banded(np.array([[0.0, 1.0], [2.0, 2.0]]), np.array([3.0, 3.0]))
import cffi
print(json.dumps({"spacing": [lo, hi], "seen": seen, "solved": x.tolist(), "cffi": cffi.FFI().sizeof("int")}))
"""


def test_a_kernels_first_call_imports_neither_scipy_linalg_nor_cffi():
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=120)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["spacing"] == [1.0, 2.0]  # the kernel ran
    assert r["seen"] == {"scipy.linalg": False, "cffi": False}
    # and both stay importable and working afterwards
    assert r["solved"] == pytest.approx([1.0, 1.0], rel=1e-12)  # [[2, 1], [1, 2]] x = [3, 3]
    assert r["cffi"] == 4


# what numba's BLAS/LAPACK probe (scipy.linalg) and cffi support exist for
_BLAS_NAMES = {"dot", "vdot", "inner", "outer", "matmul", "kron", "correlate", "convolve", "linalg", "cov", "corrcoef"}


def _uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(f"line {node.lineno}: @")
        elif isinstance(node, ast.Attribute) and node.attr in _BLAS_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in ("cffi", "ffi"):
            found.append(f"line {node.lineno}: {node.id}")
    return sorted(found)


def test_no_kernel_uses_blas_lapack_or_cffi():
    assert len(KERNEL_MODULES) >= 4, KERNEL_MODULES
    for path in KERNEL_MODULES:
        assert _uses(ast.parse(path.read_text())) == [], path


def test_the_checker_sees_blas_use():  # the test above cannot pass by not looking
    assert _uses(ast.parse("def f(a, b):\n    return np.dot(a, b) + (a @ b).sum() + np.linalg.norm(a)\n")) == [
        "line 2: .dot", "line 2: .linalg", "line 2: @"]


def test_every_kernel_module_takes_njit_from_the_one_place():
    for path in KERNEL_MODULES:
        tree = ast.parse(path.read_text())
        sources = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   and any(a.name == "njit" for a in node.names)}
        assert sources == {"biofeedback.hrv._numba"}, path
