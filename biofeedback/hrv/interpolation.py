r"""Not-a-knot cubic spline through unevenly spaced samples, resampled on an even grid.

This is the interpolation step of Kubios HRV's spectrum ("cubic spline interpolation, 4 Hz"):
RR values placed at their beat times are turned into an evenly sampled signal. The spline is the
same as :class:`scipy.interpolate.CubicSpline` with ``bc_type="not-a-knot"`` (equal to ~1e-12
relative), computed here without scipy's per-call validation: the knot slopes :math:`s_i` solve
one tridiagonal system (LAPACK ``dgtsv``),

.. math::

    \Delta x_i s_{i-1} + 2(\Delta x_{i-1} + \Delta x_i) s_i + \Delta x_{i-1} s_{i+1}
      = 3(\Delta x_i m_{i-1} + \Delta x_{i-1} m_i),\qquad m_i = \frac{y_{i+1}-y_i}{\Delta x_i},

with the not-a-knot conditions (continuous third derivative at the second and the second-to-last
knot) as first and last rows, and each interval is the cubic Hermite polynomial of its end values
and slopes. Three knots give the parabola through them, two the straight line (as scipy does).

:func:`resample_not_a_knot` is the readable numpy definition; :func:`resample_even` is the same
spline as one compiled loop (:mod:`biofeedback.hrv._kernels`), which the engine calls every beat;
tests hold the two equal to 1e-12.

Reference: de Boor (1978/2001), *A Practical Guide to Splines*, Springer, ch. IV;
Tarvainen et al. (2014), doi:10.1016/j.cmpb.2013.07.024 (Kubios' 4 Hz cubic spline).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._kernels import spline_on_grid
from .constants import RESAMPLE_HZ

__all__ = [
    "spline_slopes",
    "evaluate_spline",
    "resample_not_a_knot",
    "resample_even",
    "even_grid_s",
    "even_grid_size",
]


def spline_slopes(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """Slopes ``dy/dx`` at the knots of the not-a-knot cubic spline through ``(x, y)``.

    Parameters
    ----------
    x:
        Strictly increasing knot positions (at least 2).
    y:
        Values at the knots, same length.

    Returns
    -------
    numpy.ndarray
        One slope per knot.

    Examples
    --------
    A cubic is reproduced exactly (not-a-knot with 4 knots is the interpolating cubic):

    >>> s = spline_slopes([0.0, 1.0, 2.0, 4.0], [0.0, 1.0, 8.0, 64.0])  # y = x³, y' = 3x²
    >>> [round(float(v), 9) + 0.0 for v in s]
    [0.0, 3.0, 12.0, 48.0]
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    n = xa.size
    if n != ya.size or n < 2:
        raise ValueError(f"need at least 2 knots with one value each, got {n} knots and {ya.size} values")
    dx = xa[1:] - xa[:-1]
    if not (dx > 0).all():
        raise ValueError("knot positions must be strictly increasing")
    m = (ya[1:] - ya[:-1]) / dx
    if n == 2:
        return np.array([m[0], m[0]])
    if n == 3:
        # not-a-knot at both ends of 3 knots: the parabola through the 3 points
        c = (m[1] - m[0]) / (xa[2] - xa[0])
        return m[0] + c * (2.0 * xa - xa[0] - xa[1])
    return _not_a_knot_slopes(dx, m)


def _not_a_knot_slopes(dx: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Knot slopes for >= 4 knots from the spacings ``dx`` (> 0) and secant slopes ``m``."""
    n = dx.size + 1
    dx0, dx1, dxl, dxp = float(dx[0]), float(dx[1]), float(dx[-1]), float(dx[-2])
    m0, m1, ml, mp = float(m[0]), float(m[1]), float(m[-1]), float(m[-2])
    d = np.empty(n)
    dl = np.empty(n - 1)
    du = np.empty(n - 1)
    b = np.empty(n)
    # interior rows i = 1..n-2: dx[i] s[i-1] + 2(dx[i-1] + dx[i]) s[i] + dx[i-1] s[i+1] = rhs
    np.add(dx[:-1], dx[1:], out=d[1:-1])
    d[1:-1] *= 2.0
    dl[:-1] = dx[1:]
    du[1:] = dx[:-1]
    bi = b[1:-1]
    np.multiply(dx[1:], m[:-1], out=bi)
    bi += dx[:-1] * m[1:]
    bi *= 3.0
    # not-a-knot rows (third derivative continuous at the second and second-to-last knot)
    d0 = dx0 + dx1
    d[0] = dx1
    du[0] = d0
    b[0] = ((dx0 + 2.0 * d0) * dx1 * m0 + dx0 * dx0 * m1) / d0
    dn = dxl + dxp
    d[-1] = dxp
    dl[-1] = dn
    b[-1] = (dxl * dxl * mp + (2.0 * dn + dxl) * dxp * ml) / dn
    from scipy.linalg.lapack import dgtsv  # scipy's import is slow: only when asked for

    _, _, _, s, info = dgtsv(dl, d, du, b, 1, 1, 1, 1)
    if info != 0:  # pragma: no cover - the matrix is diagonally dominant for increasing knots
        raise np.linalg.LinAlgError(f"spline system is singular (dgtsv info={info})")
    return s


def resample_even(x: NDArray[np.float64], y: NDArray[np.float64], start_s: float, size: int, fs_hz: float) -> NDArray[np.float64]:
    """The not-a-knot spline of >= 4 strictly increasing knots at ``start_s + j / fs_hz``, ``j < size``
    (no checks; the grid must lie in ``[x[0], x[-1]]``).

    The per-beat path of :func:`biofeedback.hrv.frequency_domain.power_spectrum`: the same spline
    as :func:`resample_not_a_knot` (tested equal to ~1e-12), computed in one compiled loop
    (:func:`biofeedback.hrv._kernels.spline_on_grid`).
    """
    z = spline_on_grid(x, y, start_s, fs_hz, size)
    if z.size != size:  # pragma: no cover - the matrix is diagonally dominant for increasing knots
        raise np.linalg.LinAlgError("spline system is singular")
    return z


def evaluate_spline(
    x: NDArray[np.float64], y: NDArray[np.float64], slopes: NDArray[np.float64], xq: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Evaluate the cubic Hermite spline of knots ``(x, y)`` and ``slopes`` at ``xq``.

    Points outside ``[x[0], x[-1]]`` are extrapolated with the end polynomials (as scipy does).

    Examples
    --------
    >>> x = np.array([0.0, 1.0, 2.0, 4.0]); y = x ** 3
    >>> evaluate_spline(x, y, spline_slopes(x, y), np.array([0.5, 3.0])).round(9).tolist()
    [0.125, 27.0]
    """
    h = x[1:] - x[:-1]
    m = (y[1:] - y[:-1]) / h
    s0 = slopes[:-1]
    s1 = slopes[1:]
    c2 = (3.0 * m - 2.0 * s0 - s1) / h
    c3 = (s0 + s1 - 2.0 * m) / (h * h)
    i = np.searchsorted(x, xq, side="right")
    i -= 1
    np.minimum(i, x.size - 2, out=i)
    np.maximum(i, 0, out=i)
    t = xq - x[i]
    return y[i] + t * (s0[i] + t * (c2[i] + t * c3[i]))


def even_grid_s(start_s: float, stop_s: float, fs_hz: float = RESAMPLE_HZ) -> NDArray[np.float64]:
    """Sample times ``start_s + k / fs_hz`` for ``k = 0, 1, ...`` up to ``stop_s`` inclusive.

    Examples
    --------
    >>> even_grid_s(10.0, 11.0, 4.0).tolist()
    [10.0, 10.25, 10.5, 10.75, 11.0]
    """
    return start_s + np.arange(even_grid_size(start_s, stop_s, fs_hz)) / fs_hz


def even_grid_size(start_s: float, stop_s: float, fs_hz: float = RESAMPLE_HZ) -> int:
    """Number of samples of :func:`even_grid_s` (``start_s`` to ``stop_s`` inclusive).

    Examples
    --------
    >>> even_grid_size(10.0, 11.0, 4.0)
    5
    """
    return max(int(math.floor((stop_s - start_s) * fs_hz + 1e-9)) + 1, 0)


def resample_not_a_knot(
    x_s: ArrayLike, y: ArrayLike, fs_hz: float = RESAMPLE_HZ, *, start_s: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Resample ``y(x_s)`` at ``fs_hz`` with the not-a-knot cubic spline.

    Parameters
    ----------
    x_s:
        Strictly increasing sample times (s), e.g. beat times.
    y:
        Values at those times, e.g. RR in ms.
    fs_hz:
        Output sampling rate (default 4 Hz, Kubios HRV).
    start_s:
        First output time; default ``x_s[0]``. The grid runs to ``x_s[-1]`` inclusive.

    Returns
    -------
    (t_s, values)
        The even grid and the spline on it.

    Examples
    --------
    >>> t, v = resample_not_a_knot([0.0, 1.0, 2.0, 3.0], [800.0, 820.0, 800.0, 780.0], 2.0)
    >>> t.tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    >>> [round(float(a), 6) for a in v[::2]]
    [800.0, 820.0, 800.0, 780.0]
    """
    xa = np.asarray(x_s, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    s = spline_slopes(xa, ya)
    grid = even_grid_s(xa[0] if start_s is None else float(start_s), float(xa[-1]), fs_hz)
    return grid, evaluate_spline(xa, ya, s, grid)
