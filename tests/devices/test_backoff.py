"""The reconnection policy is a pure, deterministic function of the attempt number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.backoff import BASE_S, CAP_S, JITTER, backoff_delay_s


def test_grows_exponentially_then_stays_at_the_cap() -> None:
    delays = [backoff_delay_s(a, jitter=0.0) for a in range(1, 10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


@given(attempt=st.integers(1, 10_000), seed=st.integers(0, 2**32))
def test_jitter_stays_within_its_band_below_the_cap(attempt: int, seed: int) -> None:
    nominal = min(CAP_S, BASE_S * 2.0 ** min(attempt - 1, 64))
    delay = backoff_delay_s(attempt, seed=seed)
    assert (1 - JITTER) * nominal <= delay <= nominal <= CAP_S


def test_same_seed_same_delays_other_seed_other_delays() -> None:
    first = [backoff_delay_s(a, seed=42) for a in range(1, 20)]
    assert first == [backoff_delay_s(a, seed=42) for a in range(1, 20)]
    assert first != [backoff_delay_s(a, seed=43) for a in range(1, 20)]


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert backoff_delay_s(10**9, jitter=0.0) == CAP_S
    assert backoff_delay_s(2000, factor=10.0, jitter=0.0) == CAP_S


@pytest.mark.parametrize(
    "kwargs",
    [{"attempt": 0}, {"attempt": -1}, {"attempt": 1, "base_s": 0}, {"attempt": 1, "factor": 0.5},
     {"attempt": 1, "cap_s": 0.1}, {"attempt": 1, "jitter": 1.0}],
)
def test_rejects_nonsense(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        backoff_delay_s(**kwargs)
