"""Compiled inner loops of the per-beat kernels (numba), so one beat costs microseconds, not
hundreds of numpy calls.

Each function here is the loop form of a computation whose definition, formula and reference live
in the public module that calls it:

- :func:`spline_on_grid`: the not-a-knot cubic spline of :mod:`biofeedback.hrv.interpolation`
  evaluated on the even grid ``x0 + j / fs``;
- :func:`time_domain_values`: the indices of :func:`biofeedback.hrv.time_domain.time_domain`;
  :func:`time_domain_row`: all its fields (ln RMSSD, SD1/SD2, the stress index's square-root form
  :func:`stress_root` added), the one computation behind
  :func:`biofeedback.hrv.time_domain.time_domain_fields` and the per-beat engine;
- :func:`band_power` / :func:`band_peak`: the trapezoid band integral and the peak search of
  :func:`biofeedback.hrv.frequency_domain.psd_integrator` on a grid ``k·df``;
  :func:`frequency_bands` / :func:`frequency_values` / :func:`coherence_values`: those of one
  spectrum's frequency-domain and coherence indices in one call (:func:`frequency_ratios`: LF/HF and
  n.u.); :func:`rfft_frequency_values` / :func:`rfft_coherence_values`: the same straight from one
  segment's rfft (|X|² of :func:`rfft_power` fused in), for the per-beat engine;
- :func:`mean_of_three_z`: the PNS and SNS indices of :mod:`biofeedback.hrv.autonomic`;
- :func:`template_matches`: the template match counts of :mod:`biofeedback.hrv.entropy`;
- :func:`window_segment` / :func:`rfft_power`: the steps of
  :func:`biofeedback.hrv.frequency_domain.power_spectrum` before and after the FFT for one Welch
  segment (the per-beat spectra of :func:`biofeedback.hrv.frequency_domain.window_welch_rfft`
  and the batched coherence of :mod:`biofeedback.hrv.coherence`); :func:`welch_segment_input`:
  the segment times the scaled Hann window, zero-padded: the FFT's input (the windows' values come
  from :func:`biofeedback.hrv.frequency_domain.WelchScratch`'s table).

They are pure (no I/O, no state) and compiled once per machine: ``cache=True`` stores the machine
code next to this file (or in numba's user cache directory when that is not writable), so only the
first run after an install pays the compilation (a few seconds). Arithmetic is plain IEEE double
(no ``fastmath``), so results are deterministic and replay bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from biofeedback.hrv._numba import njit

__all__ = ["mean_of_three_z", "spacing_range", "spline_on_grid", "time_domain_values", "time_domain_row", "stress_root", "band_power",
           "band_peak", "template_matches", "window_segment", "welch_segment_input", "rfft_power", "rfft_power_head", "coherence_values", "frequency_bands",
           "frequency_ratios", "frequency_values", "rfft_frequency_values", "rfft_coherence_values"]


@njit(cache=True)
def spacing_range(x):  # pragma: no cover - compiled
    """(min, max) of ``x[1:] - x[:-1]`` (at least 2 values); the min is NaN if any spacing is NaN."""
    lo = np.inf
    hi = -np.inf
    for i in range(x.size - 1):
        d = x[i + 1] - x[i]
        if not d >= lo:  # NaN compares false: keep it as the minimum
            lo = d
        if d > hi:
            hi = d
    return lo, hi


@njit(cache=True)
def _solve_tridiagonal(dl, d, du, b):  # pragma: no cover - compiled
    """Solve the tridiagonal system in place (Gaussian elimination with partial pivoting, the
    algorithm of LAPACK ``dgtsv``); returns False if it is singular. ``b`` becomes the solution."""
    n = d.size
    du2 = np.zeros(n)
    for i in range(n - 1):
        if abs(d[i]) >= abs(dl[i]):
            if d[i] == 0.0:
                return False
            fact = dl[i] / d[i]
            d[i + 1] -= fact * du[i]
            b[i + 1] -= fact * b[i]
        else:  # interchange rows i and i + 1
            fact = d[i] / dl[i]
            d[i] = dl[i]
            temp = d[i + 1]
            d[i + 1] = du[i] - fact * temp
            if i < n - 2:
                du2[i] = du[i + 1]
                du[i + 1] = -fact * du2[i]
            du[i] = temp
            temp = b[i]
            b[i] = b[i + 1]
            b[i + 1] = temp - fact * b[i + 1]
    if d[n - 1] == 0.0:
        return False
    b[n - 1] /= d[n - 1]
    if n > 1:
        b[n - 2] = (b[n - 2] - du[n - 2] * b[n - 1]) / d[n - 2]
    for i in range(n - 3, -1, -1):
        b[i] = (b[i] - du[i] * b[i + 1] - du2[i] * b[i + 2]) / d[i]
    return True


@njit(cache=True)
def spline_on_grid(x, y, x0, fs, size):  # pragma: no cover - compiled
    """Not-a-knot cubic spline through >= 4 knots ``(x, y)`` (strictly increasing ``x``) at
    ``x0 + j / fs``, ``j = 0 .. size - 1`` (inside ``[x[0], x[-1]]``).

    Knot slopes ``s`` solve the system of :mod:`biofeedback.hrv.interpolation`; interval ``i``
    (``x[i] <= g < x[i+1]``, the last one closed) is the cubic Hermite piece
    ``y_i + t(s_i + t(-c2 + t c3))``, ``t = g - x_i``, ``c3 = (e0 + e1)/dx²``,
    ``c2 = (2 e0 + e1)/dx``, ``e0 = s_i - m_i``, ``e1 = s_{i+1} - m_i``. Returns the values, or an
    empty array if the system is singular (never for increasing knots).
    """
    n = x.size
    dx = np.empty(n - 1)
    m = np.empty(n - 1)
    for i in range(n - 1):
        dx[i] = x[i + 1] - x[i]
        m[i] = (y[i + 1] - y[i]) / dx[i]
    d = np.empty(n)
    dl = np.empty(n - 1)
    du = np.empty(n - 1)
    s = np.empty(n)
    for i in range(1, n - 1):
        d[i] = 2.0 * (dx[i - 1] + dx[i])
        dl[i - 1] = dx[i]
        du[i] = dx[i - 1]
        s[i] = 3.0 * (dx[i] * m[i - 1] + dx[i - 1] * m[i])
    # not-a-knot rows: continuous third derivative at the second and the second-to-last knot
    dx0, dx1, dxl, dxp = dx[0], dx[1], dx[n - 2], dx[n - 3]
    d0 = dx0 + dx1
    d[0] = dx1
    du[0] = d0
    s[0] = ((dx0 + 2.0 * d0) * dx1 * m[0] + dx0 * dx0 * m[1]) / d0
    dn = dxl + dxp
    d[n - 1] = dxp
    dl[n - 2] = dn
    s[n - 1] = (dxl * dxl * m[n - 3] + (2.0 * dn + dxl) * dxp * m[n - 2]) / dn
    if not _solve_tridiagonal(dl, d, du, s):
        return np.empty(0)
    out = np.empty(size)
    k = -1
    xk = yk = sk = c2 = c3 = 0.0
    for j in range(size):
        g = x0 + j / fs
        i = k if k >= 0 else 0
        while i < n - 2 and x[i + 1] <= g:
            i += 1
        if i != k:
            k = i
            xk, yk, sk = x[k], y[k], s[k]
            e0 = sk - m[k]
            c3 = s[k + 1] - m[k] + e0
            c2 = (c3 + e0) / dx[k]
            c3 = c3 / dx[k] / dx[k]
        t = g - xk
        out[j] = ((c3 * t - c2) * t + sk) * t + yk
    return out


@njit(cache=True)
def time_domain_values(rr, valid, breaks, bin_ms, max_bins, nn_hi_ms, nn_lo_ms):  # pragma: no cover - compiled
    """The time-domain indices of one window (definitions in :mod:`biofeedback.hrv.time_domain`).

    ``valid`` / ``breaks`` are boolean masks like ``rr`` or empty (= all valid / no gaps);
    ``nn_hi_ms`` / ``nn_lo_ms`` the pNNxx thresholds (50, 20). Returns
    ``(n_valid, mean_rr, mean_hr, sdnn, rmssd, pnn50, pnn20, sd1, sd2, baevsky_si, hr_range)``,
    NaN where undefined; ``baevsky_si`` is -1 when the histogram would need more than
    ``max_bins`` bins (the caller then uses the numpy path). Sums are compensated (Neumaier), the
    spreads two-pass.
    """
    n = rr.size
    use_valid = valid.size == n and n > 0
    use_breaks = breaks.size == n and n > 0
    nan = np.nan
    nv = 0
    s = 0.0
    c = 0.0
    sh = 0.0
    ch = 0.0
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        if use_valid and not valid[i]:
            continue
        r = rr[i]
        nv += 1
        t = s + r
        c += (s - t) + r if abs(s) >= abs(r) else (r - t) + s
        s = t
        h = 60000.0 / r
        t = sh + h
        ch += (sh - t) + h if abs(sh) >= abs(h) else (h - t) + sh
        sh = t
        if r < lo:
            lo = r
        if r > hi:
            hi = r
    if nv == 0:
        return 0, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan
    mean_rr = (s + c) / nv
    mean_hr = (sh + ch) / nv
    hr_range = 60000.0 / lo - 60000.0 / hi
    sdnn = nan
    si = nan
    if nv >= 2:
        acc = 0.0
        for i in range(n):
            if use_valid and not valid[i]:
                continue
            dv = rr[i] - mean_rr
            acc += dv * dv
        sdnn = math.sqrt(acc / (nv - 1))
        if hi == lo:
            si = np.inf
        else:
            b0 = math.floor(lo / bin_ms)
            nb = math.floor(hi / bin_ms) - b0 + 1
            if nb > max_bins:
                si = -1.0
            else:
                counts = np.zeros(int(nb), dtype=np.int64)
                for i in range(n):
                    if use_valid and not valid[i]:
                        continue
                    counts[int(math.floor(rr[i] / bin_ms) - b0)] += 1
                k = 0
                for j in range(counts.size):
                    if counts[j] > counts[k]:
                        k = j
                mo_s = (b0 + k + 0.5) * bin_ms / 1000.0
                amo_pct = 100.0 * counts[k] / nv
                si = amo_pct / (2.0 * mo_s * ((hi - lo) / 1000.0))
    # successive pairs of valid beats in one run: d = RR_i - RR_i-1, ds = their deviations' sum
    m = 0
    sd = cd = 0.0
    sds = cds = 0.0
    ss = 0.0
    n50 = 0
    n20 = 0
    for i in range(1, n):
        if use_valid and not (valid[i] and valid[i - 1]):
            continue
        if use_breaks and breaks[i]:
            continue
        d = rr[i] - rr[i - 1]
        ds = (rr[i - 1] - mean_rr) + (rr[i] - mean_rr)
        m += 1
        ss += d * d
        t = sd + d
        cd += (sd - t) + d if abs(sd) >= abs(d) else (d - t) + sd
        sd = t
        t = sds + ds
        cds += (sds - t) + ds if abs(sds) >= abs(ds) else (ds - t) + sds
        sds = t
        a = abs(d)
        if a > nn_hi_ms:
            n50 += 1
        if a > nn_lo_ms:
            n20 += 1
    rmssd = pnn50 = pnn20 = sd1 = sd2 = nan
    if m:
        rmssd = math.sqrt(ss / m)
        pnn50 = 100.0 * n50 / m
        pnn20 = 100.0 * n20 / m
        if m >= 2:
            md = (sd + cd) / m
            mds = (sds + cds) / m
            a1 = 0.0
            a2 = 0.0
            for i in range(1, n):
                if use_valid and not (valid[i] and valid[i - 1]):
                    continue
                if use_breaks and breaks[i]:
                    continue
                e = (rr[i] - rr[i - 1]) - md
                a1 += e * e
                e = (rr[i - 1] - mean_rr) + (rr[i] - mean_rr) - mds
                a2 += e * e
            sd1 = math.sqrt(0.5 * a1 / (m - 1))
            sd2 = math.sqrt(0.5 * a2 / (m - 1))
    return nv, mean_rr, mean_hr, sdnn, rmssd, pnn50, pnn20, sd1, sd2, si, hr_range


@njit(cache=True)
def mean_of_three_z(x1, mean1, sd1, x2, mean2, sd2, x3, mean3, sd3, sign3):  # pragma: no cover - compiled
    """``(z1 + z2 + sign3 * z3) / 3`` with ``z = (x - mean) / sd``: the PNS (``sign3`` +1) and SNS
    (``sign3`` -1) indices of :func:`biofeedback.hrv.autonomic.pns_index` /
    :func:`~biofeedback.hrv.autonomic.sns_index` (formulas and norms there). Summed left to right
    from 0.0 (as Python's ``sum`` of three floats); NaN when any input is NaN."""
    z3 = (x3 - mean3) / sd3
    if sign3 < 0:
        z3 = -z3
    return (((0.0 + (x1 - mean1) / sd1) + (x2 - mean2) / sd2) + z3) / 3


@njit(cache=True)
def stress_root(si):  # pragma: no cover - compiled
    """Baevsky's stress index in Kubios' square-root form (:func:`biofeedback.hrv.time_domain.stress_index`):
    ``sqrt(si)``, NaN kept."""
    return math.sqrt(si) if si == si else si


@njit(cache=True)
def time_domain_row(rr, valid, breaks, bin_ms, max_bins, nn_hi_ms, nn_lo_ms):  # pragma: no cover - compiled
    """Every field of :class:`biofeedback.hrv.time_domain.TimeDomain` in its order: ``(n_beats, mean_rr,
    mean_hr, sdnn, rmssd, ln_rmssd, pnn50, pnn20, sd1, sd2, sd1_sd2, stress_index, hr_range)``, from
    :func:`time_domain_values` (arguments as there), with ``ln_rmssd = ln(rmssd)`` (-inf for 0),
    ``sd1_sd2 = sd1 / sd2`` (NaN unless ``sd2 > 0``) and the stress index in square-root form
    (:func:`stress_root`). ``stress_index`` is -1 (not rooted) when the histogram would need more than
    ``max_bins`` bins: the caller computes it with numpy and roots it with :func:`stress_root`."""
    nv, mean_rr, mean_hr, sdnn, r, p50, p20, sd1, sd2, si, hr_rng = time_domain_values(
        rr, valid, breaks, bin_ms, max_bins, nn_hi_ms, nn_lo_ms)
    if si != -1.0:
        si = stress_root(si)
    lnr = np.nan
    if r == r:
        lnr = math.log(r) if r > 0 else -np.inf
    return nv, mean_rr, mean_hr, sdnn, r, lnr, p50, p20, sd1, sd2, sd1 / sd2 if sd2 > 0 else np.nan, si, hr_rng


@njit(cache=True)
def _kept(p, df, max_hz):  # pragma: no cover - compiled
    """How many PSD values the integrals use: those up to ``max_hz`` plus two (as psd_integrator)."""
    return min(p.size, int(max_hz / df) + 3)


@njit(cache=True)
def _integral_to(p, n, df, x):  # pragma: no cover - compiled
    """Trapezoid integral of the PSD from 0 to ``x`` (clamped to the kept grid), linear at x."""
    top = (n - 1) * df
    x = min(max(x, 0.0), top)
    k = int(x / df)
    while k > 0 and k * df > x:
        k -= 1
    dx = x - k * df
    if k > n - 2:
        k = n - 2
        dx = x - k * df
    cum = 0.0
    for i in range(k + 1):  # sequential, as the cumulative sum of psd_integrator
        cum += p[i]
    pk = p[k]
    px = pk + (p[k + 1] - pk) * dx / df
    return df * (cum - 0.5 * (p[0] + pk)) + 0.5 * dx * (pk + px)


@njit(cache=True)
def band_power(p, df, max_hz, lo, hi):  # pragma: no cover - compiled
    """Power (PSD units × Hz) in ``[lo, hi]`` of a PSD on the grid ``k·df`` (>= 2 values)."""
    if not hi > lo:
        return 0.0
    n = _kept(p, df, max_hz)
    return _integral_to(p, n, df, hi) - _integral_to(p, n, df, lo)


@njit(cache=True)
def _grid_ceil(df, x):  # pragma: no cover - compiled
    k = max(int(x / df), 0)
    while k * df < x:
        k += 1
    while k > 0 and (k - 1) * df >= x:
        k -= 1
    return k


@njit(cache=True)
def band_peak(p, df, max_hz, lo, hi):  # pragma: no cover - compiled
    """(frequency, PSD) of the first largest PSD value with ``lo <= f < hi``; (NaN, NaN) if none."""
    n = _kept(p, df, max_hz)
    i = min(_grid_ceil(df, lo), n)
    j = min(_grid_ceil(df, hi), n)
    if j <= i:
        return np.nan, np.nan
    k = i
    for q in range(i + 1, j):
        if p[q] > p[k]:
            k = q
    return k * df, p[k]


@njit(cache=True)
def _pairwise_block(a, start, n):  # pragma: no cover - compiled
    """numpy's pairwise sum of at most 128 values (8 accumulators)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - (n % 8):
        b = start + i
        r0 += a[b]
        r1 += a[b + 1]
        r2 += a[b + 2]
        r3 += a[b + 3]
        r4 += a[b + 4]
        r5 += a[b + 5]
        r6 += a[b + 6]
        r7 += a[b + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@njit(cache=True)
def pairwise_sum(a, start, n):  # pragma: no cover - compiled
    """Sum of ``a[start:start+n]`` in numpy's pairwise order (``np.add.reduce`` of a contiguous
    float64 array: blocks of at most 128 values, halves (multiples of 8) above), so the result is
    bit-identical. numpy recurses; this walks the same tree with an explicit stack (numba cannot
    cache recursive functions)."""
    if n <= 128:
        return _pairwise_block(a, start, n)
    fs = np.empty(64, dtype=np.int64)  # frame start
    fn = np.empty(64, dtype=np.int64)  # frame length
    fstage = np.empty(64, dtype=np.int64)
    vals = np.empty(64)
    top = 0
    nv = 0
    fs[0], fn[0], fstage[0] = start, n, 0
    while top >= 0:
        s0, n0 = fs[top], fn[top]
        if n0 <= 128:
            vals[nv] = _pairwise_block(a, s0, n0)
            nv += 1
            top -= 1
            continue
        n2 = n0 // 2
        n2 -= n2 % 8
        if fstage[top] == 0:
            fstage[top] = 1
            top += 1
            fs[top], fn[top], fstage[top] = s0, n2, 0
        elif fstage[top] == 1:
            fstage[top] = 2
            top += 1
            fs[top], fn[top], fstage[top] = s0 + n2, n0 - n2, 0
        else:
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
    return vals[0]


@njit(cache=True)
def window_segment(t, rr, valid, use_valid, lo, hi, fs, seg, x, y, out):  # pragma: no cover - compiled
    """The first Welch segment of the window of beats ``lo:hi``: the steps of
    :func:`biofeedback.hrv.frequency_domain.power_spectrum` up to the segment (knots = the valid
    beats, or all when not ``use_valid``; the not-a-knot spline at ``fs`` from the first knot; its
    mean, numpy's pairwise sum, removed) in one loop. ``x``, ``y``: scratch of >= ``hi - lo``
    values; ``out`` gets the first ``m = min(size, seg)`` samples.

    Returns ``(status, n_knots, bridge, size, m)``: status 0 = done; 1 = no spectrum (< 4 knots or
    grid samples; ``m`` = 0); -1 = the knot times are not strictly increasing; -2 = singular spline
    system. ``bridge`` = the longest knot spacing (NaN with < 2 knots)."""
    cnt = 0
    for i in range(lo, hi):
        if not use_valid or valid[i]:
            x[cnt] = t[i]
            y[cnt] = rr[i]
            cnt += 1
    if cnt < 2:
        return 1, cnt, np.nan, 0, 0
    shortest, bridge = spacing_range(x[:cnt])
    if not shortest > 0:
        return -1, cnt, bridge, 0, 0
    if cnt < 4:
        return 1, cnt, bridge, 0, 0
    x0 = x[0]
    size = max(int(math.floor((x[cnt - 1] - x0) * fs + 1e-9)) + 1, 0)
    if size < 4:
        return 1, cnt, bridge, size, 0
    z = spline_on_grid(x[:cnt], y[:cnt], x0, fs, size)
    if z.size != size:
        return -2, cnt, bridge, size, 0
    mean = pairwise_sum(z, 0, size) / size
    m = min(size, seg)
    for j in range(m):
        out[j] = z[j] - mean
    return 0, cnt, bridge, size, m


#: :func:`welch_segment_input`'s status when the segment is written but the window of its length
#: is not in the table yet (the caller adds it and applies it, see ``WelchScratch.window``).
NO_WINDOW = 3
#: :func:`welch_segment_input`'s status when the resampled series is longer than one segment.
SEVERAL_SEGMENTS = 2


@njit(cache=True)
def welch_segment_input(t, rr, valid, use_valid, lo, hi, fs, seg, nfft, x, y, out, win, win_at):  # pragma: no cover
    """The FFT input of the one Welch segment of the window of beats ``lo:hi``: :func:`window_segment`
    (arguments as there) into ``out``, times the scaled Hann window of its length ``m``
    (``win[win_at[m]:win_at[m] + m]``, :func:`biofeedback.hrv.frequency_domain._scaled_hann`'s values;
    ``win_at[m] < 0``: not in the table), then zero-padded to ``n_fft = max(nfft, m)`` (``nfft`` 0 =
    the segment's own length). ``out`` holds >= ``max(seg, nfft)`` values.

    Returns ``(status, n_knots, bridge, m, n_fft)``: status 0 = ``out[:n_fft]`` is the input; 1, -1,
    -2 as :func:`window_segment`; :data:`SEVERAL_SEGMENTS` = more samples than one segment (then
    :func:`biofeedback.hrv.frequency_domain.power_spectrum`'s general path); :data:`NO_WINDOW` =
    ``out[:n_fft]`` holds the zero-padded segment without its window (none of length ``m`` yet)."""
    status, n_knots, bridge, size, m = window_segment(t, rr, valid, use_valid, lo, hi, fs, seg, x, y, out)
    if status != 0:
        return status, n_knots, bridge, m, 0
    if size != m:
        return SEVERAL_SEGMENTS, n_knots, bridge, m, 0
    n_fft = max(nfft, m)
    for j in range(m, n_fft):
        out[j] = 0.0
    at = win_at[m]
    if at < 0:
        return NO_WINDOW, n_knots, bridge, m, n_fft
    for j in range(m):
        out[j] = out[j] * win[at + j]
    return 0, n_knots, bridge, m, n_fft


@njit(cache=True)
def coherence_segments(t, rr, valid, use_valid, lo, hi, fs, seg, Z, nper):  # pragma: no cover - compiled
    """The mean-removed spline segment of each window ``lo[k]:hi[k]`` (:func:`window_segment`):
    row ``k`` of ``Z`` gets the first ``nper[k]`` samples, ``nper[k] = 0`` when the window has no
    spectrum (< 4 knots or grid samples). Returns -1, or the first window whose valid beat times
    are not strictly increasing (``-2 - k`` if its spline system is singular)."""
    x = np.empty(t.size)
    y = np.empty(t.size)
    for k in range(lo.size):
        status, _, _, _, m = window_segment(t, rr, valid, use_valid, lo[k], hi[k], fs, seg, x, y, Z[k])
        if status == -1:
            return k
        if status == -2:
            return -2 - k
        nper[k] = m
    return -1


@njit(cache=True)
def rfft_power(v, n_fft):  # pragma: no cover - compiled
    """One-sided |X|² of an rfft given as its interleaved (re, im) float64 view ``v``: ``re² + im²``,
    halved at 0 Hz and (even ``n_fft``) at Nyquist: the arithmetic of
    :func:`biofeedback.hrv.frequency_domain.welch_psd` for one segment (the window's scale is in the
    signal)."""
    return rfft_power_head(v, n_fft, v.size // 2)


@njit(cache=True)
def rfft_power_head(v, n_fft, keep):  # pragma: no cover - compiled
    """The first ``keep`` values of :func:`rfft_power` (the same bits; the Nyquist value is halved
    only when it is kept)."""
    nb = v.size // 2
    keep = min(keep, nb)
    p = np.empty(keep)
    for k in range(keep):
        re = v[2 * k]
        im = v[2 * k + 1]
        p[k] = re * re + im * im
    p[0] *= 0.5
    if n_fft % 2 == 0 and keep == nb:
        p[nb - 1] *= 0.5
    return p


@njit(cache=True)
def coherence_values(p, df, max_hz, search_lo, search_hi, half_width, total_lo, total_hi):  # pragma: no cover
    """``(ratio, peak_hz, peak, total)`` of one PSD on the grid ``k·df``: the peak in ``[search_lo,
    search_hi)``, its band ``peak ± half_width``, the total band; the arithmetic of
    :func:`biofeedback.hrv.coherence.coherence_from_spectrum` on the uniform grid (all NaN without
    a peak)."""
    peak_hz, _ = band_peak(p, df, max_hz, search_lo, search_hi)
    if math.isnan(peak_hz):
        return np.nan, np.nan, np.nan, np.nan
    peak = band_power(p, df, max_hz, peak_hz - half_width, peak_hz + half_width)
    total = band_power(p, df, max_hz, total_lo, total_hi)
    rest = total - peak
    return (peak / rest if rest > 0 else np.nan), peak_hz, peak, total


@njit(cache=True)
def rfft_coherence_ratio_rows(V, n_fft, df, max_hz, search_lo, search_hi, half_width, total_lo,
                              total_hi):  # pragma: no cover - compiled
    """Coherence ratio (:func:`rfft_coherence_values`) of each row of ``V``: one rfft per row, as its
    interleaved (re, im) float64 view (the batched windows of :func:`biofeedback.hrv.coherence.coherence_ratios`)."""
    m = V.shape[0]
    out = np.empty(m)
    for r in range(m):
        out[r] = rfft_coherence_values(V[r], n_fft, df, max_hz, search_lo, search_hi, half_width, total_lo,
                                       total_hi)[0]
    return out


@njit(cache=True)
def frequency_bands(p, df, max_hz, vlf_lo, vlf_hi, lf_lo, lf_hi, hf_lo, hf_hi):  # pragma: no cover - compiled
    """``(vlf, lf, hf, lf_peak_hz, hf_peak_hz)`` of one PSD on the grid ``k·df``: the band integrals
    and peaks of :func:`biofeedback.hrv.frequency_domain.indices_from_spectrum` in one call."""
    vlf = band_power(p, df, max_hz, vlf_lo, vlf_hi)
    lf = band_power(p, df, max_hz, lf_lo, lf_hi)
    hf = band_power(p, df, max_hz, hf_lo, hf_hi)
    return vlf, lf, hf, band_peak(p, df, max_hz, lf_lo, lf_hi)[0], band_peak(p, df, max_hz, hf_lo, hf_hi)[0]


@njit(cache=True)
def frequency_ratios(vlf, lf, hf):  # pragma: no cover - compiled
    """``(total, lf_hf, lf_nu, hf_nu)`` from the band powers: ``VLF + LF + HF``, ``LF / HF``,
    ``100·LF / (LF + HF)``, ``100·HF / (LF + HF)`` (NaN when the denominator is not > 0); the
    formulas of :func:`biofeedback.hrv.frequency_domain.indices_from_spectrum`."""
    s = lf + hf
    lf_hf = lf / hf if hf > 0 else np.nan
    lf_nu = 100.0 * lf / s if s > 0 else np.nan
    hf_nu = 100.0 * hf / s if s > 0 else np.nan
    return vlf + lf + hf, lf_hf, lf_nu, hf_nu


@njit(cache=True)
def frequency_values(p, df, max_hz, vlf_lo, vlf_hi, lf_lo, lf_hi, hf_lo, hf_hi):  # pragma: no cover - compiled
    """``(vlf, lf, hf, total, lf_hf, lf_nu, hf_nu, lf_peak_hz, hf_peak_hz)`` of one PSD on the grid
    ``k·df``: :func:`frequency_bands` and :func:`frequency_ratios` in one call (the float fields of
    :class:`biofeedback.hrv.frequency_domain.FrequencyDomain`, in its order)."""
    vlf, lf, hf, lf_peak, hf_peak = frequency_bands(p, df, max_hz, vlf_lo, vlf_hi, lf_lo, lf_hi, hf_lo, hf_hi)
    total, lf_hf, lf_nu, hf_nu = frequency_ratios(vlf, lf, hf)
    return vlf, lf, hf, total, lf_hf, lf_nu, hf_nu, lf_peak, hf_peak


@njit(cache=True)
def rfft_frequency_values(v, n_fft, df, max_hz, vlf_lo, vlf_hi, lf_lo, lf_hi, hf_lo, hf_hi):  # pragma: no cover
    """:func:`frequency_values` of the PSD :func:`rfft_power` of the rfft ``v`` (interleaved), only
    the PSD values the integrals use computed (:func:`_kept`)."""
    p = rfft_power_head(v, n_fft, int(max_hz / df) + 3)
    return frequency_values(p, df, max_hz, vlf_lo, vlf_hi, lf_lo, lf_hi, hf_lo, hf_hi)


@njit(cache=True)
def rfft_coherence_values(v, n_fft, df, max_hz, search_lo, search_hi, half_width, total_lo, total_hi):  # pragma: no cover
    """:func:`coherence_values` of the PSD :func:`rfft_power` of the rfft ``v`` (interleaved), only
    the PSD values the integrals use computed (:func:`_kept`)."""
    p = rfft_power_head(v, n_fft, int(max_hz / df) + 3)
    return coherence_values(p, df, max_hz, search_lo, search_hi, half_width, total_lo, total_hi)


@njit(cache=True)
def template_matches(pref, w_pref, order, ext_start, ext_last, ext_w, r):  # pragma: no cover - compiled
    """Match counts for ApEn / SampEn (:mod:`biofeedback.hrv.entropy`) on *distinct* templates.

    ``pref`` (P × m): the distinct length-m templates, ``w_pref`` how often each occurs, ``order``
    sorts ``pref[:, 0]``. The distinct length-(m+1) templates are grouped by prefix: those of prefix
    p are ``ext_start[p]:ext_start[p+1]``, with last value ``ext_last`` (increasing within a group)
    and multiplicity ``ext_w``. Two templates match when every coordinate differs by ``<= r``.

    For each pair of prefixes whose first coordinates lie within r (sorted scan: only those pairs
    are visited) and whose other coordinates match, the prefix counts gain each other's multiplicity
    and the extensions are matched on their last value by a two-pointer merge. Returns
    ``(cnt_pref, cnt_ext)``: the number of templates (self included) matching each distinct
    length-m / length-(m+1) template. Exact; the work is the number of candidate pairs of
    *distinct* templates (RR files are quantised to 1 ms or 1/128-1/1024 s, so an 80 000-beat
    recording has a few thousand distinct length-2 templates).
    """
    n_p, m = pref.shape
    cnt_p = np.zeros(n_p, dtype=np.int64)
    cnt_e = np.zeros(ext_last.size, dtype=np.int64)
    cum = np.zeros(ext_last.size + 1, dtype=np.int64)
    for k in range(ext_last.size):
        cum[k + 1] = cum[k] + ext_w[k]
    for a in range(n_p):
        p = order[a]
        a0 = pref[p, 0]
        for b in range(a, n_p):
            q = order[b]
            if pref[q, 0] - a0 > r:
                break
            ok = True
            for k in range(1, m):
                d = pref[p, k] - pref[q, k]
                if d > r or d < -r:
                    ok = False
                    break
            if not ok:
                continue
            cnt_p[p] += w_pref[q]
            if q != p:
                cnt_p[q] += w_pref[p]
            for side in range(2 if q != p else 1):
                u, v = (p, q) if side == 0 else (q, p)
                lo = ext_start[v]
                hi = ext_start[v]
                v_end = ext_start[v + 1]
                for e in range(ext_start[u], ext_start[u + 1]):
                    x = ext_last[e]
                    while lo < v_end and x - ext_last[lo] > r:
                        lo += 1
                    if hi < lo:
                        hi = lo
                    while hi < v_end and ext_last[hi] - x <= r:
                        hi += 1
                    cnt_e[e] += cum[hi] - cum[lo]
    return cnt_p, cnt_e
