"""Static and voyage data (types 5, 19, 24) -> the fields of a Static record.

pyais maps reserved ship-type codes to 0 and buckets some codes (types 5 and 19), so the raw
8-bit code is read from the message's bit vector here (ITU-R M.1371-5 table 53). Fields a
message type does not carry are None; the track store keeps the latest non-null value per
field. "Not available" values become None: IMO 0, dimensions 0 (M.1371-5 table 73 note),
ship type 0, empty texts.
"""

from __future__ import annotations

from typing import Any, Protocol

from seabridge.ais.mid import flag_for_mmsi
from seabridge.ais.normalize import clean_text

__all__ = ["static_row"]

# Bit offsets of the ship-type field (ITU-R M.1371-5, messages 5 and 19).
_SHIP_TYPE_BIT = {5: 232, 19: 263}
_AUXILIARY_MID_PREFIX = "98"


class _Bits(Protocol):
    def __len__(self) -> int: ...

    def get(self, start: int, width: int) -> int: ...


def _positive(value: Any) -> int | None:
    return int(value) if value else None


def _raw_ship_type(bits: _Bits, offset: int) -> int | None:
    if len(bits) < offset + 8:
        return None
    return bits.get(offset, 8) or None


def _dimensions(message: Any) -> dict[str, int | None]:
    return {
        "dim_bow_m": _positive(message.to_bow),
        "dim_stern_m": _positive(message.to_stern),
        "dim_port_m": _positive(message.to_port),
        "dim_starboard_m": _positive(message.to_starboard),
    }


def _empty(mmsi: int) -> dict[str, Any]:
    return {
        "imo": None,
        "callsign": None,
        "name": None,
        "ship_type": None,
        "dim_bow_m": None,
        "dim_stern_m": None,
        "dim_port_m": None,
        "dim_starboard_m": None,
        "destination": None,
        "flag": flag_for_mmsi(mmsi),
    }


def static_row(message: Any, ais_id: int, bits: _Bits) -> dict[str, Any] | None:
    """The Static fields of a decoded type 5, 19 or 24 message; None for other types."""
    if ais_id not in (5, 19, 24):
        return None
    row = _empty(message.mmsi)
    row["msg_type"] = ais_id
    if ais_id == 5:
        row.update(_dimensions(message))
        row["imo"] = _positive(message.imo)
        row["callsign"] = clean_text(message.callsign)
        row["name"] = clean_text(message.shipname)
        row["destination"] = clean_text(message.destination)
        row["ship_type"] = _raw_ship_type(bits, _SHIP_TYPE_BIT[5])
    elif ais_id == 19:
        row.update(_dimensions(message))
        row["name"] = clean_text(message.shipname)
        row["ship_type"] = _raw_ship_type(bits, _SHIP_TYPE_BIT[19])
    elif message.partno == 0:
        row["name"] = clean_text(message.shipname)
    elif message.partno == 1:
        row["ship_type"] = _positive(message.ship_type)
        row["callsign"] = clean_text(message.callsign)
        # An auxiliary craft (98MIDxxxx) sends its mother ship's MMSI instead of dimensions.
        if not str(message.mmsi).startswith(_AUXILIARY_MID_PREFIX) and hasattr(message, "to_bow"):
            row.update(_dimensions(message))
    else:
        return None
    return row
