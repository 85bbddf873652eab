"""Pure HRV kernels over numpy arrays: no I/O, no clock, no printing.

All functions take RR intervals in ms, optional beat times ``t_s`` (s; ``None`` means
``cumsum(rr_ms) / 1000``), an optional boolean ``valid`` (False = removed beat) and, for the
difference-based indices, an optional boolean ``breaks`` (True at beat ``i`` = a gap right before
beat ``i``). Only successive pairs of valid beats in the same run form differences. Formulas,
units, windows and references: each function's docstring and ``docs/indices.md``.
"""

from __future__ import annotations

from .ar_spectrum import ARSpectrum, ar_spectrum, armcov
from .autonomic import NORMS, Norm, pns_index, sns_index
from .coherence import Coherence, coherence, coherence_from_spectrum, coherence_spectrum
from .dfa import DFA, dfa, dfa_alpha
from .entropy import Entropy, approximate_entropy, entropies, sample_entropy
from .extended import EXTENDED_KEYS, ExtendedIndices, extended_indices
from .geometric import Geometric, geometric, tinn_ms, triangular_index
from .frequency_domain import (
    FrequencyDomain,
    Spectrum,
    band_power_ms2,
    frequency_domain,
    indices_from_spectrum,
    peak_frequency_hz,
    power_spectrum,
    smoothness_priors_trend,
)
from .interpolation import resample_not_a_knot, spline_slopes
from .relaxation import Baseline, relaxation_index
from .resonance import RSA, Resonance, resonance, resonance_from_spectrum, rsa_amplitude
from .successive import successive_differences_ms, successive_pair_mask
from .summary import SUMMARY_KEYS, Summary, summarize
from .time_domain import (
    TimeDomain,
    baevsky_stress_index,
    hr_range_bpm,
    ln_rmssd,
    mean_hr_bpm,
    mean_rr_ms,
    nnxx_count,
    pnnxx_pct,
    poincare_sd_ms,
    rmssd_ms,
    sdnn_ms,
    stress_index,
    time_domain,
)

__all__ = [
    "ARSpectrum",
    "DFA",
    "EXTENDED_KEYS",
    "Entropy",
    "ExtendedIndices",
    "Geometric",
    "approximate_entropy",
    "ar_spectrum",
    "armcov",
    "coherence_spectrum",
    "dfa",
    "dfa_alpha",
    "entropies",
    "extended_indices",
    "geometric",
    "nnxx_count",
    "sample_entropy",
    "tinn_ms",
    "triangular_index",
    "Baseline",
    "Coherence",
    "FrequencyDomain",
    "NORMS",
    "Norm",
    "RSA",
    "Resonance",
    "SUMMARY_KEYS",
    "Spectrum",
    "Summary",
    "TimeDomain",
    "baevsky_stress_index",
    "band_power_ms2",
    "coherence",
    "coherence_from_spectrum",
    "frequency_domain",
    "hr_range_bpm",
    "indices_from_spectrum",
    "ln_rmssd",
    "mean_hr_bpm",
    "mean_rr_ms",
    "peak_frequency_hz",
    "pnnxx_pct",
    "pns_index",
    "poincare_sd_ms",
    "power_spectrum",
    "relaxation_index",
    "resample_not_a_knot",
    "resonance",
    "resonance_from_spectrum",
    "rmssd_ms",
    "rsa_amplitude",
    "sdnn_ms",
    "smoothness_priors_trend",
    "sns_index",
    "spline_slopes",
    "stress_index",
    "successive_differences_ms",
    "successive_pair_mask",
    "summarize",
    "time_domain",
]
