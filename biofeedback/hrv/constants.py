"""Constants of the HRV indices, each with where it comes from.

Frequencies are in hertz, times in seconds, intervals in milliseconds. Every module of
:mod:`biofeedback.hrv` takes its defaults from here, so a change happens in one place.
"""

from __future__ import annotations

# --- Frequency bands -------------------------------------------------------------------------
# Task Force of the European Society of Cardiology and the North American Society of Pacing and
# Electrophysiology (1996), "Heart rate variability: standards of measurement, physiological
# interpretation and clinical use", Circulation 93(5):1043-1065, doi:10.1161/01.CIR.93.5.1043,
# Table 2 (short-term recordings). Kubios HRV uses the same defaults.
VLF_BAND_HZ: tuple[float, float] = (0.0, 0.04)
LF_BAND_HZ: tuple[float, float] = (0.04, 0.15)
HF_BAND_HZ: tuple[float, float] = (0.15, 0.40)

# --- Spectrum estimation (Kubios HRV defaults) -----------------------------------------------
# Tarvainen et al. (2014) "Kubios HRV - heart rate variability analysis software", Comput.
# Methods Programs Biomed. 113(1):210-220, doi:10.1016/j.cmpb.2013.07.024, and the Kubios HRV
# user's guide: RR series interpolated by a cubic spline at 4 Hz; Welch periodogram with 300 s
# segments and 50 % overlap; smoothness-priors detrending with lambda = 500.
RESAMPLE_HZ: float = 4.0
WELCH_SEGMENT_S: float = 300.0
WELCH_OVERLAP: float = 0.5
SMOOTHNESS_LAMBDA: float = 500.0

# --- Time domain ----------------------------------------------------------------------------
# Baevsky stress index: RR histogram with 50 ms bins (Baevsky & Chernikova 2017, "Heart rate
# variability analysis: physiological foundations and main methods", Cardiometry 10:66-76,
# doi:10.12710/cardiometry.2017.10.6676; Kubios HRV user's guide uses the same bin width).
SI_BIN_MS: float = 50.0
# pNNxx thresholds (Ewing et al. 1984, Br Heart J 52:396; Mietus et al. 2002, Heart 88:378,
# doi:10.1136/heart.88.4.378, for pNN20).
NN50_MS: float = 50.0
NN20_MS: float = 20.0
# ms per minute: HR [beats/min] = 60000 / RR [ms].
MS_PER_MIN: float = 60000.0

# --- Coherence (HeartMath-style) ------------------------------------------------------------
# McCraty, Atkinson, Tomasino & Bradley (2009) "The coherent heart", Integral Review 5(2):10-115;
# McCraty (2022) "Following the rhythm of the heart: HeartMath Institute's path to HRV
# biofeedback", Appl Psychophysiol Biofeedback 47:305-316, doi:10.1007/s10484-022-09554-2:
# 64 s window, peak searched in 0.04-0.26 Hz, peak power = integral over a 0.030 Hz wide band
# centred on the peak, total power over 0.0033-0.4 Hz.
COHERENCE_WINDOW_S: float = 64.0
COHERENCE_SEARCH_BAND_HZ: tuple[float, float] = (0.04, 0.26)
COHERENCE_PEAK_WIDTH_HZ: float = 0.030
COHERENCE_TOTAL_BAND_HZ: tuple[float, float] = (0.0033, 0.40)
# Grid step of the zero-padded coherence spectrum (engine settings version >= 2): the 64 s
# Hann-windowed segment is transformed with nfft = 2048 at 4 Hz, 1/512 Hz ≈ 0.002 Hz, 1/8 of the
# native 1/64 Hz step, fine enough that the 0.030 Hz band integrals and the peak no longer depend on
# where the rhythm falls between grid points (benchmarks/validity.py measures the spread).
COHERENCE_MAX_DF_HZ: float = 1.0 / 512.0

# --- Resonance ------------------------------------------------------------------------------
# Resonance breathing lies near 0.1 Hz, inside the LF band (Lehrer & Gevirtz 2014, Front.
# Psychol. 5:756, doi:10.3389/fpsyg.2014.00756); the dominant frequency is searched in LF.
RESONANCE_BAND_HZ: tuple[float, float] = LF_BAND_HZ
