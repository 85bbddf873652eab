"""Parse and build the Heart Rate Measurement characteristic (GATT 0x2A37).

A pure module: bytes in, a frozen :class:`HeartRateMeasurement` out (and back again with
:func:`encode_heart_rate_measurement`). No I/O, no clock: the BLE callback only timestamps the
payload and hands it here.

Layout (Bluetooth Heart Rate Service 1.0, all integers little-endian)::

    byte 0      flags
                  bit 0    0: heart rate is uint8, 1: heart rate is uint16        (bpm)
                  bits 1-2 sensor contact: bit 2 = feature supported, bit 1 = contact detected
                           (0b00 / 0b01 = not supported, 0b10 = no contact, 0b11 = contact)
                  bit 3    a uint16 Energy Expended field follows the heart rate   (kJ)
                  bit 4    uint16 RR-Interval values follow, to the end of the payload (1/1024 s)
                  bits 5-7 reserved for future use (ignored, as the specification asks)
    byte 1..    heart rate (1 or 2 bytes), [energy expended (2 bytes)], [RR values (2 bytes each)]

RR intervals are kept as the raw ticks the strap sent (``rr_ticks_1024``); milliseconds are derived
exactly, ``ms = ticks * 1000 / 1024``, never rounded (:func:`rr_ms_from_ticks`).

Decisions
---------
* **RR value 0 is dropped and counted** (``HeartRateMeasurement.zero_rr_dropped``). An interval of
  0 ticks cannot end a heartbeat (it would be an infinite heart rate); some straps send it as a
  placeholder. Raising would throw away the heart rate and the other, valid RR values of the same
  notification; keeping it would make every consumer guard a division by zero. The count makes the
  drop visible (the BLE source can log it with the raw payload), so nothing is hidden.
* **RR flag set with no RR values** is accepted (an empty tuple): the characteristic allows "zero or
  more" values and some straps keep the flag set between beats.
* **Bytes left over** after the fields the flags announce (or an odd byte after the RR values) make
  the payload malformed: :class:`devices.errors.PayloadError` carries the exact bytes.

Reference: Bluetooth SIG, *Heart Rate Service 1.0* (HRS_SPEC_V10) and the GATT Specification
Supplement, characteristic "Heart Rate Measurement" (0x2A37).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from devices.errors import PayloadError

__all__ = [
    "HEART_RATE_MEASUREMENT_UUID",
    "TICKS_PER_SECOND",
    "HeartRateMeasurement",
    "parse_heart_rate_measurement",
    "encode_heart_rate_measurement",
    "encode_measurement",
    "rr_ms_from_ticks",
    "ticks_from_rr_ms",
]

HEART_RATE_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
TICKS_PER_SECOND = 1024  # RR resolution of 0x2A37: 1/1024 s

_FLAG_HR_UINT16 = 0x01
_FLAG_CONTACT_DETECTED = 0x02
_FLAG_CONTACT_SUPPORTED = 0x04
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10
_UINT16_MAX = 0xFFFF


def rr_ms_from_ticks(ticks_1024: int) -> float:
    """Milliseconds of an RR value in 1/1024 s: ``ticks * 1000 / 1024`` (exact in binary floating point)."""
    return ticks_1024 * 1000.0 / TICKS_PER_SECOND


def ticks_from_rr_ms(rr_ms: float) -> int:
    """The nearest 1/1024 s tick count for ``rr_ms`` (what a strap's quantisation does)."""
    return int(round(rr_ms * TICKS_PER_SECOND / 1000.0))


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded 0x2A37 notification.

    Attributes
    ----------
    hr_bpm:
        Heart rate as the strap computed it, beats per minute (integer, as sent).
    contact_supported:
        The strap reports skin contact (flags bit 2).
    contact_detected:
        Skin contact (flags bit 1) when supported, ``None`` when not supported.
    energy_expended_kj:
        Accumulated energy expended in kJ, ``None`` when the field is absent.
    rr_ticks_1024:
        RR intervals in 1/1024 s, oldest first, exactly as sent (zero values removed, see
        ``zero_rr_dropped``). Empty when the notification carried none.
    zero_rr_dropped:
        How many RR values of 0 the payload held (dropped from ``rr_ticks_1024``).
    """

    hr_bpm: int
    contact_supported: bool
    contact_detected: bool | None
    energy_expended_kj: int | None
    rr_ticks_1024: tuple[int, ...]
    zero_rr_dropped: int = 0

    @property
    def rr_ms(self) -> tuple[float, ...]:
        """RR intervals in milliseconds, ``ticks * 1000 / 1024``, never rounded."""
        return tuple(rr_ms_from_ticks(t) for t in self.rr_ticks_1024)


def parse_heart_rate_measurement(payload: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode one Heart Rate Measurement payload.

    Raises :class:`devices.errors.PayloadError` (carrying the payload) when the bytes do not match
    what the flags announce: empty payload, truncated heart rate or energy field, an odd trailing
    byte after the RR values, or bytes left over when no RR values are announced. Never raises
    anything else for any ``bytes`` input.

    >>> m = parse_heart_rate_measurement(bytes.fromhex("104ed202c802"))
    >>> m.hr_bpm, m.rr_ticks_1024, m.rr_ms
    (78, (722, 712), (705.078125, 695.3125))
    """
    data = bytes(payload)
    if not data:
        raise PayloadError("empty payload (no flags byte)", data)
    flags = data[0]
    pos = 1
    if flags & _FLAG_HR_UINT16:
        if len(data) < pos + 2:
            raise PayloadError("flags announce a uint16 heart rate but fewer than 2 bytes follow", data)
        hr = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    else:
        if len(data) < pos + 1:
            raise PayloadError("flags announce a uint8 heart rate but no byte follows", data)
        hr = data[pos]
        pos += 1

    supported = bool(flags & _FLAG_CONTACT_SUPPORTED)
    detected = bool(flags & _FLAG_CONTACT_DETECTED) if supported else None

    energy: int | None = None
    if flags & _FLAG_ENERGY:
        if len(data) < pos + 2:
            raise PayloadError(f"flags announce Energy Expended but only {len(data) - pos} byte(s) remain", data)
        energy = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2

    rest = len(data) - pos
    ticks: list[int] = []
    zeros = 0
    if flags & _FLAG_RR:
        if rest % 2:
            raise PayloadError(f"RR values need 2 bytes each but {rest} byte(s) remain (odd trailing byte)", data)
        for i in range(pos, len(data), 2):
            value = data[i] | (data[i + 1] << 8)
            if value == 0:
                zeros += 1
            else:
                ticks.append(value)
    elif rest:
        raise PayloadError(f"{rest} unexpected trailing byte(s) after the announced fields", data)

    return HeartRateMeasurement(
        hr_bpm=hr,
        contact_supported=supported,
        contact_detected=detected,
        energy_expended_kj=energy,
        rr_ticks_1024=tuple(ticks),
        zero_rr_dropped=zeros,
    )


def encode_heart_rate_measurement(
    hr_bpm: int,
    rr_ticks_1024: Iterable[int] = (),
    *,
    contact_supported: bool = False,
    contact_detected: bool | None = None,
    energy_expended_kj: int | None = None,
    hr_uint16: bool | None = None,
    rr_flag: bool | None = None,
) -> bytes:
    """Build a Heart Rate Measurement payload (what a strap sends; used by the virtual strap).

    ``hr_uint16`` ``None`` picks uint16 only when ``hr_bpm > 255``. ``rr_flag`` ``None`` sets flags
    bit 4 only when there are RR values. ``contact_detected`` is written only when
    ``contact_supported`` (otherwise it must be ``None``). Raises :class:`ValueError` for values
    that do not fit their fields (a programming error, not a payload error).

    >>> encode_heart_rate_measurement(60, [1041], contact_supported=True, contact_detected=True).hex()
    '163c1104'
    """
    ticks = tuple(int(t) for t in rr_ticks_1024)
    if hr_uint16 is None:
        hr_uint16 = hr_bpm > 0xFF
    if not 0 <= hr_bpm <= (_UINT16_MAX if hr_uint16 else 0xFF):
        raise ValueError(f"hr_bpm {hr_bpm} does not fit a {'uint16' if hr_uint16 else 'uint8'}")
    if contact_detected is not None and not contact_supported:
        raise ValueError("contact_detected given but contact_supported is False")
    if energy_expended_kj is not None and not 0 <= energy_expended_kj <= _UINT16_MAX:
        raise ValueError(f"energy_expended_kj {energy_expended_kj} does not fit a uint16")
    for t in ticks:
        if not 0 <= t <= _UINT16_MAX:
            raise ValueError(f"RR value {t} ticks does not fit a uint16")
    if rr_flag is None:
        rr_flag = bool(ticks)
    if ticks and not rr_flag:
        raise ValueError("RR values given but rr_flag is False")

    flags = 0
    if hr_uint16:
        flags |= _FLAG_HR_UINT16
    if contact_supported:
        flags |= _FLAG_CONTACT_SUPPORTED
        if contact_detected:
            flags |= _FLAG_CONTACT_DETECTED
    if energy_expended_kj is not None:
        flags |= _FLAG_ENERGY
    if rr_flag:
        flags |= _FLAG_RR

    out = bytearray([flags])
    out += hr_bpm.to_bytes(2 if hr_uint16 else 1, "little")
    if energy_expended_kj is not None:
        out += energy_expended_kj.to_bytes(2, "little")
    for t in ticks:
        out += t.to_bytes(2, "little")
    return bytes(out)


def encode_measurement(measurement: HeartRateMeasurement, *, hr_uint16: bool | None = None) -> bytes:
    """Encode a :class:`HeartRateMeasurement` (``parse(encode_measurement(m)) == m`` when it has no
    dropped zero RR values and, if ``hr_uint16`` is ``None``, a heart rate that fits its field)."""
    return encode_heart_rate_measurement(
        measurement.hr_bpm,
        measurement.rr_ticks_1024,
        contact_supported=measurement.contact_supported,
        contact_detected=measurement.contact_detected,
        energy_expended_kj=measurement.energy_expended_kj,
        hr_uint16=hr_uint16,
    )
