r"""Not-a-knot cubic spline through unevenly spaced samples, resampled on an even grid.

This is the interpolation step of Kubios HRV's spectrum ("cubic spline interpolation, 4 Hz"):
RR values placed at their beat times are turned into an evenly sampled signal. The spline is the
same as :class:`scipy.interpolate.CubicSpline` with ``bc_type="not-a-knot"`` (equal to ~1e-12
relative), computed here without scipy's per-call validation so the streaming engine can call it
every beat: the knot slopes :math:`s_i` solve one tridiagonal system (LAPACK ``dgtsv``),

.. math::

    \Delta x_i s_{i-1} + 2(\Delta x_{i-1} + \Delta x_i) s_i + \Delta x_{i-1} s_{i+1}
      = 3(\Delta x_i m_{i-1} + \Delta x_{i-1} m_i),\qquad m_i = \frac{y_{i+1}-y_i}{\Delta x_i},

with the not-a-knot conditions (continuous third derivative at the second and the second-to-last
knot) as first and last rows, and each interval is the cubic Hermite polynomial of its end values
and slopes. Three knots give the parabola through them, two the straight line (as scipy does).

Reference: de Boor (1978/2001), *A Practical Guide to Splines*, Springer, ch. IV;
Tarvainen et al. (2014), doi:10.1016/j.cmpb.2013.07.024 (Kubios' 4 Hz cubic spline).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg.lapack import dgtsv

from .constants import RESAMPLE_HZ

__all__ = [
    "spline_slopes",
    "evaluate_spline",
    "resample_not_a_knot",
    "resample_knots",
    "resample_knots_blocks",
    "even_grid_s",
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


def _not_a_knot_slopes(
    dx: NDArray[np.float64], m: NDArray[np.float64], blocks: tuple[tuple[int, int], ...] | None = None
) -> NDArray[np.float64]:
    """Knot slopes for >= 4 knots from the spacings ``dx`` (> 0) and secant slopes ``m``.

    ``blocks`` = ``((a, e), ...)`` solves several independent splines stacked in one system (knots
    ``a..e-1`` of each, >= 4 knots each, in order and covering all knots): each block gets its own
    not-a-knot end rows and no coupling to its neighbours, so each block's slopes are those of
    its spline alone (the junction entries of ``dx`` and ``m`` are ignored). ``None`` = one block.
    """
    n = dx.size + 1
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
    for a, e in blocks or ((0, n),):
        # not-a-knot rows (third derivative continuous at the second and second-to-last knot)
        dx0, dx1, dxl, dxp = dx.item(a), dx.item(a + 1), dx.item(e - 2), dx.item(e - 3)
        m0, m1, ml, mp = m.item(a), m.item(a + 1), m.item(e - 2), m.item(e - 3)
        d0 = dx0 + dx1
        d[a] = dx1
        du[a] = d0
        b[a] = ((dx0 + 2.0 * d0) * dx1 * m0 + dx0 * dx0 * m1) / d0
        dn = dxl + dxp
        d[e - 1] = dxp
        dl[e - 2] = dn
        b[e - 1] = (dxl * dxl * mp + (2.0 * dn + dxl) * dxp * ml) / dn
        if a > 0:
            dl[a - 1] = 0.0  # no coupling to the previous block
        if e < n:
            du[e - 1] = 0.0  # nor to the next
    _, _, _, s, info = dgtsv(dl, d, du, b, 1, 1, 1, 1)
    if info != 0:  # pragma: no cover - the matrix is diagonally dominant for increasing knots
        raise np.linalg.LinAlgError(f"spline system is singular (dgtsv info={info})")
    return s


def resample_knots(
    x: NDArray[np.float64], y: NDArray[np.float64], dx: NDArray[np.float64], grid: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The not-a-knot spline of >= 4 validated knots evaluated on ``grid`` (no checks; fast path).

    ``dx = x[1:] - x[:-1]`` must be > 0 (the caller has checked it) and ``grid`` must lie in
    ``[x[0], x[-1]]``. Used per beat by :func:`biofeedback.hrv.frequency_domain.power_spectrum`,
    so it is written for few numpy calls: on interval ``i`` the spline is
    ``y_i + t(s_i + t(-c2_i + t c3_i))`` with ``t = g - x_i``, ``e0 = s_i - m_i``,
    ``e1 = s_{i+1} - m_i``, ``c3 = (e0 + e1)/dx²`` and ``c2 = (2 e0 + e1)/dx``.
    """
    m = y[1:] - y[:-1]
    m /= dx
    sl = _not_a_knot_slopes(dx, m)
    i = x[1:-1].searchsorted(grid, "right")
    return _evaluate(x, y, dx, m, sl, grid, i)


def _evaluate(
    x: NDArray[np.float64], y: NDArray[np.float64], dx: NDArray[np.float64], m: NDArray[np.float64],
    sl: NDArray[np.float64], grid: NDArray[np.float64], i: NDArray[np.intp],
) -> NDArray[np.float64]:
    """The cubic Hermite pieces of knots (x, y), slopes ``sl``, at ``grid`` on intervals ``i``."""
    s0 = sl[:-1]
    e0 = s0 - m
    c3 = sl[1:] - m
    c3 += e0
    c2 = c3 + e0
    c2 /= dx
    c3 /= dx
    c3 /= dx
    t = grid - x.take(i)
    r = c3.take(i)
    r *= t
    r -= c2.take(i)
    r *= t
    r += s0.take(i)
    r *= t
    r += y.take(i)
    return r


def resample_knots_blocks(
    xs: list[NDArray[np.float64]],
    ys: list[NDArray[np.float64]],
    starts_s: list[float],
    sizes: list[int],
    fs_hz: float = RESAMPLE_HZ,
) -> list[NDArray[np.float64]]:
    """:func:`resample_knots` of several knot sets at once (one tridiagonal solve, one evaluation).

    Set ``k`` (knots ``xs[k], ys[k]``: >= 4, strictly increasing) is evaluated on the grid
    ``starts_s[k] + j / fs_hz``, ``j < sizes[k]``, which must lie in ``[x[0], x[-1]]``
    (:func:`even_grid_s`). Each result is the spline of that set alone (the sets are independent
    blocks of one system, see :func:`_not_a_knot_slopes`) and equals ``resample_knots`` of the
    set. The engine uses it for its frequency-domain and coherence windows: half the numpy calls
    of two separate fits. The results are views of one array.
    """
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    dx = x[1:] - x[:-1]  # junction entries (first knot of a set - last of the previous) unused
    m = y[1:] - y[:-1]
    m /= dx
    total = sum(sizes)
    grid = np.empty(total)
    i = np.empty(total, dtype=np.intp)
    blocks = []
    a = pos = 0
    for xb, x0, gn in zip(xs, starts_s, sizes):
        e = a + xb.size
        blocks.append((a, e))
        g = grid[pos:pos + gn]
        np.add(x0, _offsets_s(gn, fs_hz), out=g)
        ib = xb[1:-1].searchsorted(g, "right")
        if a:
            ib += a
        i[pos:pos + gn] = ib
        a = e
        pos += gn
    r = _evaluate(x, y, dx, m, _not_a_knot_slopes(dx, m, tuple(blocks)), grid, i)
    out = []
    pos = 0
    for gn in sizes:
        out.append(r[pos:pos + gn])
        pos += gn
    return out


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
    return start_s + _offsets_s(_grid_size(start_s, stop_s, fs_hz), fs_hz)


def _grid_size(start_s: float, stop_s: float, fs_hz: float) -> int:
    """Number of samples of :func:`even_grid_s` (``start_s`` to ``stop_s`` inclusive)."""
    return max(int(math.floor((stop_s - start_s) * fs_hz + 1e-9)) + 1, 0)


@lru_cache(maxsize=256)
def _offsets_s(n: int, fs_hz: float) -> NDArray[np.float64]:
    """``arange(n) / fs_hz`` (read-only, cached: the engine asks for the same few lengths every beat)."""
    a = np.arange(n) / fs_hz
    a.setflags(write=False)
    return a


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
