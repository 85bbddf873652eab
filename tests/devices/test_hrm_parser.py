"""The Heart Rate Measurement (0x2A37) parser and encoder.

The first vectors are payloads captured from real straps and published with their decoded values
(listed in ../shared/data/MANIFEST.md); they are written here as hex literals, not read from files.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.errors import DeviceError, PayloadError
from devices.hrm_parser import (
    HeartRateMeasurement,
    encode_heart_rate_measurement,
    encode_measurement,
    parse_heart_rate_measurement,
    rr_ms_from_ticks,
    ticks_from_rr_ms,
)

# (payload hex, hr_bpm, contact_supported, contact_detected, energy_kj, rr ticks, rr ms)
PUBLISHED_VECTORS = [
    # Polar strap, macOS CoreBluetooth log
    ("10 4E D2 02 C8 02", 78, False, None, None, (722, 712), (705.078125, 695.3125)),
    ("10 4F B7 02", 79, False, None, None, (695,), (678.7109375,)),
    ("10 51 00 03 12 03", 81, False, None, None, (768, 786), (750.0, 767.578125)),
    # Polar H7, BlueZ gatttool
    ("06 3C", 60, True, True, None, (), ()),
    ("16 3C 11 04", 60, True, True, None, (1041,), (1016.6015625,)),
    # Polar H10
    ("10 58 19 03 0F 03", 88, False, None, None, (793, 783), (774.4140625, 764.6484375)),
]


@pytest.mark.parametrize("hex_payload, hr, supported, detected, energy, ticks, ms", PUBLISHED_VECTORS)
def test_published_vectors(hex_payload, hr, supported, detected, energy, ticks, ms):
    m = parse_heart_rate_measurement(bytes.fromhex(hex_payload))
    assert m == HeartRateMeasurement(hr, supported, detected, energy, ticks)
    assert m.rr_ms == ms  # exact: ticks * 1000 / 1024 is representable, never rounded


def test_published_vectors_round_trip_through_the_encoder():
    for hex_payload, *_ in PUBLISHED_VECTORS:
        payload = bytes.fromhex(hex_payload)
        assert encode_measurement(parse_heart_rate_measurement(payload)) == payload


OWN_VECTORS = [
    # uint16 heart rate (flags bit 0): 0x012C = 300 bpm
    ("01 2C 01", HeartRateMeasurement(300, False, None, None, ())),
    # contact supported but not detected (bits 2-1 = 0b10)
    ("04 48", HeartRateMeasurement(72, True, False, None, ())),
    # bit 1 alone (0b01) means "not supported": detected is None, not True
    ("02 48", HeartRateMeasurement(72, False, None, None, ())),
    # energy expended (bit 3) 0x1234 = 4660 kJ, then two RR values
    ("18 50 34 12 00 04 00 02", HeartRateMeasurement(80, False, None, 4660, (1024, 512))),
    # everything: uint16 HR, contact detected, energy, four RR values
    (
        "1F 3C 00 0A 00 00 04 01 04 02 04 FF FF",
        HeartRateMeasurement(60, True, True, 10, (1024, 1025, 1026, 65535)),
    ),
    # RR flag set with no RR values is allowed ("zero or more")
    ("10 3C", HeartRateMeasurement(60, False, None, None, ())),
    # reserved flag bits 5-7 are ignored
    ("E0 3C", HeartRateMeasurement(60, False, None, None, ())),
]


@pytest.mark.parametrize("hex_payload, expected", OWN_VECTORS)
def test_own_vectors(hex_payload, expected):
    assert parse_heart_rate_measurement(bytes.fromhex(hex_payload)) == expected


def test_rr_value_zero_is_dropped_and_counted():
    m = parse_heart_rate_measurement(bytes.fromhex("10 3C 00 00 00 04 00 00"))
    assert m.rr_ticks_1024 == (1024,)
    assert m.zero_rr_dropped == 2
    assert m.rr_ms == (1000.0,)


MALFORMED = [
    ("", "empty"),
    ("01 3C", "uint16 heart rate"),  # uint16 HR flag with one byte
    ("00", "uint8 heart rate"),  # no HR byte at all
    ("08 3C 01", "Energy Expended"),  # truncated energy field
    ("18 3C", "Energy Expended"),  # energy announced, nothing follows
    ("10 3C 00 04 01", "odd trailing byte"),  # RR values then an odd byte
    ("10 3C 01", "odd trailing byte"),  # RR flag set with an odd count of bytes
    ("00 3C 00 04", "unexpected trailing"),  # bytes with no RR flag
]


@pytest.mark.parametrize("hex_payload, words", MALFORMED)
def test_malformed_payloads_raise_payload_error_with_the_bytes(hex_payload, words):
    payload = bytes.fromhex(hex_payload)
    with pytest.raises(PayloadError) as info:
        parse_heart_rate_measurement(payload)
    err = info.value
    assert err.payload == payload
    assert words in err.problem
    assert isinstance(err, DeviceError) and isinstance(err, ValueError)
    assert "\n" not in str(err) and (hex_payload.lower() in str(err) or not payload)


def test_parser_accepts_bytearray_and_memoryview():
    raw = bytearray.fromhex("16 3C 11 04")
    assert parse_heart_rate_measurement(raw) == parse_heart_rate_measurement(memoryview(bytes(raw)))


def test_tick_conversions():
    assert rr_ms_from_ticks(1) == 0.9765625
    assert ticks_from_rr_ms(1016.6015625) == 1041
    assert ticks_from_rr_ms(rr_ms_from_ticks(793)) == 793


def test_encoder_choices_and_errors():
    assert encode_heart_rate_measurement(300) == bytes.fromhex("01 2C 01")
    assert encode_heart_rate_measurement(60, hr_uint16=True) == bytes.fromhex("01 3C 00")
    assert encode_heart_rate_measurement(60, rr_flag=True) == bytes.fromhex("10 3C")
    assert encode_heart_rate_measurement(60, contact_supported=True, contact_detected=False) == bytes.fromhex("04 3C")
    with pytest.raises(ValueError, match="uint8"):
        encode_heart_rate_measurement(256, hr_uint16=False)
    with pytest.raises(ValueError, match="contact_supported"):
        encode_heart_rate_measurement(60, contact_detected=True)
    with pytest.raises(ValueError, match="uint16"):
        encode_heart_rate_measurement(60, [70000])
    with pytest.raises(ValueError, match="rr_flag"):
        encode_heart_rate_measurement(60, [1000], rr_flag=False)


# ---------------------------------------------------------------- properties


@given(st.binary(max_size=40))
def test_any_payload_parses_or_raises_payload_error(payload):
    try:
        m = parse_heart_rate_measurement(payload)
    except PayloadError as err:
        assert err.payload == payload
    else:
        assert all(t > 0 for t in m.rr_ticks_1024)
        assert (m.contact_detected is None) == (not m.contact_supported)


@st.composite
def measurements(draw):
    hr_uint16 = draw(st.booleans())
    hr = draw(st.integers(0, 0xFFFF if hr_uint16 else 0xFF))
    supported = draw(st.booleans())
    detected = draw(st.booleans()) if supported else None
    energy = draw(st.none() | st.integers(0, 0xFFFF))
    ticks = tuple(draw(st.lists(st.integers(1, 0xFFFF), max_size=9)))
    return HeartRateMeasurement(hr, supported, detected, energy, ticks), hr_uint16


@given(measurements())
def test_encode_then_parse_round_trips(case):
    m, hr_uint16 = case
    payload = encode_measurement(m, hr_uint16=hr_uint16)
    assert parse_heart_rate_measurement(payload) == m
    # and the bytes themselves round-trip: parse -> encode gives the same payload back
    assert encode_measurement(parse_heart_rate_measurement(payload), hr_uint16=hr_uint16) == payload


@given(measurements(), st.integers(1, 3))
def test_truncating_a_payload_never_raises_anything_but_payload_error(case, cut):
    m, hr_uint16 = case
    payload = encode_measurement(m, hr_uint16=hr_uint16)[:-cut]
    try:
        parse_heart_rate_measurement(payload)
    except PayloadError as err:
        assert err.payload == payload
