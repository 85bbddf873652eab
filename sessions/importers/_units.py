"""Exact unit conversion for RR text: the float nearest to the decimal value in the file, times 1000."""

from __future__ import annotations

from decimal import Decimal


def seconds_text_to_ms(text: str) -> float:
    """``"0.766"`` -> ``766.0`` exactly (not ``0.766 * 1000`` with its binary rounding)."""
    return float(Decimal(text.strip()) * 1000)
