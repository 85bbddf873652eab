"""The per-beat step of :class:`biofeedback.engine.HRVEngine` in two compiled calls (numba), around the
two FFTs numpy does in between: :func:`beat_before_fft` and :func:`beat_after_fft`.

They hold no formula of their own: they call the kernels of :mod:`biofeedback.hrv._kernels` that the
batch functions call (:func:`~biofeedback.hrv._kernels.time_domain_row`,
:func:`~biofeedback.hrv._kernels.welch_segment_input`,
:func:`~biofeedback.hrv._kernels.rfft_frequency_values`,
:func:`~biofeedback.hrv._kernels.rfft_coherence_values`) on the engine's ring buffer, with the
windows, masks and fallbacks of the engine's Python path, so the output is the same bit for bit.
What they add is bookkeeping: the ring's append and its three sliding window starts, and the share
of valid beats of each window.

State lives in a few arrays owned by the engine (fewer arguments: each costs a little at every
call): the ring's columns ``F`` (``t_s``, ``rr_ms``), ``B`` (``valid``, ``breaks``), ``I`` (valid
beats before each position, label code), and two state vectors, ``S`` (int64, slots ``S_*``) and
``G`` (float64, slots ``G_*``): settings written once, per-beat results read back by the engine.
Pure (no I/O), ``cache=True``, plain IEEE arithmetic (no ``fastmath``), as every kernel here.

Several beats at a time (:meth:`biofeedback.engine.HRVEngine.push_beats`): each beat's
:func:`beat_before_fft` writes its FFT inputs into a ``Z`` of its own and :func:`keep_results` copies
``S`` and ``G`` as it left them; the FFTs of the block are done together, then :func:`beat_after_fft`
finishes each beat from its copies.
"""

from __future__ import annotations

import numpy as np
from biofeedback.hrv._numba import njit

from ._kernels import (
    NO_WINDOW, mean_of_three_z, rfft_coherence_values, rfft_frequency_values, time_domain_row, welch_segment_input,
)
from .artifacts._kernels import causal_push

__all__ = ["ring_append", "beat_before_fft", "beat_after_fft", "keep_results", "RING_FULL", "NOTHING_SETTLED", "PUSH",
           "DIRECT", "RESUME"]

# S (int64): the ring's bookkeeping, settings, per-beat results
S_START, S_END, S_N_VALID, S_POS_T, S_POS_F, S_POS_C = 0, 1, 2, 3, 4, 5
S_SEG_F, S_SEG_C, S_NFFT_F, S_NFFT_C, S_MAX_BINS, S_FAST = 6, 7, 8, 9, 10, 11
S_STATUS_F, S_STATUS_C, S_M_F, S_M_C, S_N_F, S_N_C = 12, 13, 14, 15, 16, 17
# the beats waiting for the artifact detector's look-ahead (a FIFO ring of PENDING_CAP), the beat settling
S_PEND_HEAD, S_PEND_N, S_PEND_GAP, S_SETTLING = 18, 19, 20, 24
S_SIZE = 25
# G (float64): the ring's newest irregular time, settings, per-beat results (G_OUT.. in BeatIndices' order)
G_IRREGULAR_T = 0
G_TIME_W, G_FREQ_W, G_COH_W, G_FS, G_SI_BIN, G_NN_HI, G_NN_LO, G_DF_F, G_DF_C = 1, 2, 3, 4, 5, 6, 7, 8, 9
G_BANDS_F = 10  # max_hz, vlf lo, hi, lf lo, hi, hf lo, hi (7 values): rfft_frequency_values' arguments
G_BANDS_C = 17  # max_hz, search lo, hi, half peak width, total lo, hi (6 values): rfft_coherence_values'
G_OUT = 23
G_VALID_T, G_VALID_F, G_VALID_C, G_BRIDGE_F, G_BRIDGE_C = 23, 24, 25, 26, 27
G_TD = 28  # the 13 TimeDomainFields (n_beats as a float)
G_FV = 41  # the 9 FrequencyValues
G_COH, G_COH_PEAK = 50, 51
G_PNS_NORMS, G_SNS_NORMS = 52, 58  # (mean, sd) of each of pns_index's / sns_index's inputs
G_PEND_T, G_PEND_RR, G_SETTLING_T, G_SETTLING_RR = 64, 68, 72, 73
G_SIZE = 74
PENDING_CAP = 4  # > the detector's look-ahead (2) + 1

#: :func:`beat_before_fft`'s answer when the ring is full (the beat settling is kept: make room, call
#: again with :data:`RESUME`), and when the beat pushed settled none (the detector's look-ahead).
RING_FULL, NOTHING_SETTLED = -1, -2
#: :func:`beat_before_fft`'s modes (a mode >= 0 settles the oldest pending beat with that verdict of
#: the detector, ``8 * valid + label code``, as at the end of a run): push the beat through the
#: detector; settle it at once as a valid normal beat (no detection); continue after RING_FULL.
PUSH, DIRECT, RESUME = -1, -2, -3
#: Flags of :func:`beat_before_fft`'s answer: the time domain's stress index needs numpy (an
#: absurd histogram), the frequency / coherence window has no FFT input (``S_STATUS_*`` says why).
NEEDS_SI, NO_FFT_F, NO_FFT_C = 1, 2, 4


@njit(cache=True)
def ring_append(F, B, I, S, G, t, rr, valid, brk, code):  # pragma: no cover - compiled
    """Append one settled beat to the ring (False, nothing done, when it is full): its time, RR,
    valid flag, gap flag and label code, the running count of valid beats before it, and the time of
    the newest beat that is invalid or follows a gap (``G[G_IRREGULAR_T]``)."""
    end = S[S_END]
    if end == F.shape[1]:
        return False
    F[0, end] = t
    F[1, end] = rr
    B[0, end] = valid
    B[1, end] = brk
    nv = S[S_N_VALID]
    I[0, end] = nv
    I[1, end] = code
    if valid:
        S[S_N_VALID] = nv + 1
    S[S_END] = end + 1
    if brk or not valid:
        G[G_IRREGULAR_T] = t
    return True


@njit(cache=True)
def _window_from(tt, pos, start, end, t_from):  # pragma: no cover - compiled
    """The first position >= ``pos`` (and >= ``start``) with ``t >= t_from`` (windows only move on)."""
    a = max(pos, start)
    while a < end and tt[a] < t_from:
        a += 1
    return a


@njit(cache=True)
def _valid_pct(S, I, irregular_t, start, end, t_from):  # pragma: no cover - compiled
    """Share of valid beats (%) of the window ``start:end`` starting at ``t_from``: NaN when empty, 100
    when no invalid beat or gap is newer than ``t_from``, else from the running count of valid beats."""
    n = end - start
    if n <= 0:
        return np.nan
    if irregular_t < t_from:
        return 100.0
    return 100.0 * (S[S_N_VALID] - I[0, start]) / n


@njit(cache=True)
def _fft_input(F, B, S, G, Z, win, win_at, k, use_valid, lo, end):  # pragma: no cover - compiled
    """The FFT input of window ``k`` (0 frequency, 1 coherence: its segment, FFT length and row ``2 + k``
    of ``Z``) of the beats ``lo:end`` (:func:`welch_segment_input`); its status, segment length and
    longest bridge into ``S`` / ``G``. Returns the FFT length when the input is written (status 0, or
    ``NO_WINDOW``: the window still to apply), else 0."""
    st, _, bridge, m, n = welch_segment_input(F[0], F[1], B[0], use_valid, lo, end, G[G_FS], S[S_SEG_F + k],
                                              S[S_NFFT_F + k], Z[0], Z[1], Z[2 + k], win, win_at)
    S[S_STATUS_F + k] = st
    S[S_M_F + k] = m
    G[G_BRIDGE_F + k] = bridge
    return n if st == 0 or st == NO_WINDOW else 0


@njit(cache=True)
def _settle_oldest(S, G, verdict):  # pragma: no cover - compiled
    """The oldest pending beat becomes the beat settling, with the detector's ``verdict``."""
    h = S[S_PEND_HEAD]
    G[G_SETTLING_T] = G[G_PEND_T + h]
    G[G_SETTLING_RR] = G[G_PEND_RR + h]
    S[S_SETTLING] = (verdict & 15) | 16 * S[S_PEND_GAP + h]
    S[S_PEND_HEAD] = (h + 1) % PENDING_CAP
    S[S_PEND_N] -= 1


@njit(cache=True)
def beat_before_fft(F, B, I, S, G, Z, win, win_at, det_f, det_i, t, rr, brk, mode):  # pragma: no cover - compiled
    """Everything of one beat up to the FFTs. ``mode`` :data:`PUSH`: the beat ``(t, rr, brk)`` joins
    the pending beats and goes through the causal artifact detector (its state ``det_f``, ``det_i``:
    :func:`~biofeedback.hrv.artifacts._kernels.causal_push`), which may settle the oldest pending
    beat; :data:`DIRECT`: the beat settles at once, valid and normal; ``mode >= 0``: the oldest
    pending beat settles with that verdict; :data:`RESUME`: the beat settling before a
    :data:`RING_FULL` answer. The settled beat is appended to the ring, the three windows (time,
    frequency, coherence: ``t - window <= t_s <= t``) move on; then their shares of valid beats,
    the time-domain fields of the time window (:func:`time_domain_row`, without masks when no beat of
    the window is invalid or follows a gap, as the engine's Python path), and the FFT inputs of the
    frequency window (when ``S[S_FAST]``: Welch with the mean removed) and of the coherence window
    (:func:`welch_segment_input`, masks likewise) in rows 2 and 3 of ``Z`` (rows 0, 1: knot scratch).

    Returns ``(flags, n_fft_f, n_fft_c, t, rr, verdict)``: ``flags`` :data:`NOTHING_SETTLED`,
    :data:`RING_FULL` (the ring untouched), or 0 or the bits :data:`NEEDS_SI`, :data:`NO_FFT_F`,
    :data:`NO_FFT_C` (the input is not ready: status ``NO_WINDOW``, the caller applies the window;
    another status, no FFT); ``n_fft_*`` the FFT lengths of the inputs written (0: none; also in
    ``S[S_N_F]``, ``S[S_N_C]``); the settled beat's time, RR and ``label code + 8 * valid + 16 * gap
    before it``."""
    if mode == PUSH:
        k = (S[S_PEND_HEAD] + S[S_PEND_N]) % PENDING_CAP
        G[G_PEND_T + k] = t
        G[G_PEND_RR + k] = rr
        S[S_PEND_GAP + k] = brk
        S[S_PEND_N] += 1
        r = causal_push(det_f, det_i, rr)
        if r < 0:
            return NOTHING_SETTLED, 0, 0, t, rr, 0
        _settle_oldest(S, G, r)
    elif mode >= 0:
        _settle_oldest(S, G, mode)
    elif mode == DIRECT:
        G[G_SETTLING_T] = t
        G[G_SETTLING_RR] = rr
        S[S_SETTLING] = 8 + 16 * brk
    t = G[G_SETTLING_T]
    rr = G[G_SETTLING_RR]
    verdict = S[S_SETTLING]
    valid = (verdict & 8) != 0
    if not ring_append(F, B, I, S, G, t, rr, valid, (verdict & 16) != 0, verdict & 7):
        return RING_FULL, 0, 0, t, rr, verdict
    start = S[S_START]
    end = S[S_END]
    tt = F[0]
    t_from = t - G[G_TIME_W]
    f_from = t - G[G_FREQ_W]
    c_from = t - G[G_COH_W]
    a = _window_from(tt, S[S_POS_T], start, end, t_from)
    b = _window_from(tt, S[S_POS_F], start, end, f_from)
    c = _window_from(tt, S[S_POS_C], start, end, c_from)
    S[S_POS_T] = a
    S[S_POS_F] = b
    S[S_POS_C] = c
    irr = G[G_IRREGULAR_T]
    G[G_VALID_T] = _valid_pct(S, I, irr, a, end, t_from)
    G[G_VALID_F] = _valid_pct(S, I, irr, b, end, f_from)
    G[G_VALID_C] = _valid_pct(S, I, irr, c, end, c_from)
    flags = 0
    rr_w = F[1, a:end]
    if irr < t_from:
        no_mask = B[0, :0]
        td = time_domain_row(rr_w, no_mask, no_mask, G[G_SI_BIN], S[S_MAX_BINS], G[G_NN_HI], G[G_NN_LO])
    else:
        td = time_domain_row(rr_w, B[0, a:end], B[1, a:end], G[G_SI_BIN], S[S_MAX_BINS], G[G_NN_HI], G[G_NN_LO])
    if td[11] == -1.0:
        flags |= NEEDS_SI
    G[G_TD] = td[0]
    rest = td[1:]
    for j in range(12):
        G[G_TD + 1 + j] = rest[j]
    n_f = 0
    if S[S_FAST]:
        n_f = _fft_input(F, B, S, G, Z, win, win_at, 0, not irr < f_from, b, end)
    else:
        S[S_STATUS_F] = 2  # the general path (SEVERAL_SEGMENTS: power_spectrum)
    if S[S_STATUS_F] != 0:
        flags |= NO_FFT_F
    n_c = _fft_input(F, B, S, G, Z, win, win_at, 1, not irr < c_from, c, end)
    if S[S_STATUS_C] != 0:
        flags |= NO_FFT_C
    S[S_N_F] = n_f
    S[S_N_C] = n_c
    return flags, n_f, n_c, t, rr, verdict


@njit(cache=True)
def keep_results(S, G, SB, GB, j):  # pragma: no cover - compiled
    """Copy the state vectors as :func:`beat_before_fft` left them into row ``j`` of ``SB`` / ``GB``: a
    beat whose FFTs are done later, with those of other beats, is finished by :func:`beat_after_fft`
    from that copy (``S``, ``G`` have moved on to the next beats by then)."""
    SB[j, :] = S
    GB[j, :] = G


@njit(cache=True)
def beat_after_fft(V, S, G):  # pragma: no cover - compiled
    """The indices of one beat from the FFTs of the inputs :func:`beat_before_fft` wrote (``V``: rows 0
    and 1, the rffts as interleaved (re, im) values; grid steps ``G[G_DF_F]``, ``G[G_DF_C]``):
    :func:`rfft_frequency_values` and :func:`rfft_coherence_values` into ``G`` (NaN for a window with
    too few knots or samples, status 1; a window on another path, other statuses, is the caller's,
    who writes its values into ``G`` first), then the PNS and SNS indices (:func:`mean_of_three_z`).

    Returns the valid shares (time, frequency, coherence windows) and longest bridges (frequency,
    coherence), then :class:`biofeedback.engine.BeatIndices`' fields from ``n_beats`` to
    ``sns_index`` in their order (``resonance_hz`` = the LF peak)."""
    n = S[S_N_F]
    if n:
        k = G_BANDS_F
        fv = rfft_frequency_values(V[0, :2 * (n // 2 + 1)], n, G[G_DF_F], G[k], G[k + 1], G[k + 2], G[k + 3],
                                   G[k + 4], G[k + 5], G[k + 6])
        for j in range(9):
            G[G_FV + j] = fv[j]
    elif S[S_STATUS_F] == 1:
        for j in range(9):
            G[G_FV + j] = np.nan
    n = S[S_N_C]
    if n:
        k = G_BANDS_C
        ratio, peak_hz, _, _ = rfft_coherence_values(V[1, :2 * (n // 2 + 1)], n, G[G_DF_C], G[k], G[k + 1],
                                                     G[k + 2], G[k + 3], G[k + 4], G[k + 5])
        G[G_COH] = ratio
        G[G_COH_PEAK] = peak_hz
    elif S[S_STATUS_C] == 1:
        G[G_COH] = np.nan
        G[G_COH_PEAK] = np.nan
    d = G_TD
    f = G_FV
    p = G_PNS_NORMS
    q = G_SNS_NORMS
    pns = mean_of_three_z(G[d + 1], G[p], G[p + 1], G[d + 4], G[p + 2], G[p + 3], G[d + 8], G[p + 4], G[p + 5], 1.0)
    sns = mean_of_three_z(G[d + 2], G[q], G[q + 1], G[d + 11], G[q + 2], G[q + 3], G[d + 9], G[q + 4], G[q + 5],
                          -1.0)
    return (G[G_VALID_T], G[G_VALID_F], G[G_VALID_C], G[G_BRIDGE_F], G[G_BRIDGE_C],
            int(G[d]), G[d + 1], G[d + 2], G[d + 3], G[d + 4], G[d + 5], G[d + 6], G[d + 7], G[d + 8], G[d + 9],
            G[d + 11],
            G[f], G[f + 1], G[f + 2], G[f + 3], G[f + 4], G[f + 5], G[f + 6], G[f + 7], G[f + 8],
            G[G_COH], G[G_COH_PEAK], G[f + 7], pns, sns)
