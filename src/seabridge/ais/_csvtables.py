"""The declared tables of the CSV archive reader: header layouts and text -> code mappings.

Data only, read by :mod:`seabridge.ais.csvfmt`. Header names are normalized (``#``, a byte-order
mark and surrounding spaces stripped, lower case); text keys are lower case. Header spellings,
as found in public documentation and in public files:

* ``dma-csv``, the DMA's daily ``aisdk-YYYY-MM-DD.csv`` files (http://web.ais.dk/aisdata/,
  and its ``!_README_information_CSV_files``): ``# Timestamp,Type of mobile,MMSI,Latitude,
  Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,
  Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D``
  (files before ~2019 stop at ``Data source type``). The README calls C "to starboard" and D
  "to port"; the values are the AIS message's fields, so C is port and D starboard as in
  ITU-R M.1371-5 (figure 42).
* ``noaa-csv``, MarineCadastre (USCG NAIS) daily files. 2015-2020: ``MMSI,BaseDateTime,LAT,
  LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo``
  (NOAA InPort item 52807 "NAIS2015", https://www.fisheries.noaa.gov/inport/item/52807);
  2021-2024 append ``TransceiverClass`` (public AIS_2021_06_21.csv heads); the 2025 "csv2"
  files (https://noaaocm.blob.core.windows.net/ais/csv2/) use ``mmsi,base_date_time,
  longitude,latitude,sog,cog,heading,vessel_name,imo,call_sign,vessel_type,status,length,
  width,draft,cargo,transceiver`` (headers in public parsers' fixtures).

This module must not parse anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DMA_SHIP_TYPES",
    "LAYOUTS",
    "NAV_STATUS",
    "POSITION_TYPES",
    "STATIC_TYPES",
    "CsvFormat",
    "HeaderLayout",
]

CsvFormat = Literal["dma-csv", "noaa-csv"]


@dataclass(frozen=True, slots=True)
class HeaderLayout:
    """One header family: canonical column -> header name, and the columns that identify it."""

    fmt: CsvFormat
    columns: Mapping[str, str]
    signature: tuple[str, ...]
    """Canonical columns whose header names must all be present (the required ones among them)."""

    def matches(self, names: set[str]) -> bool:
        """Whether a header with these (normalized) names is of this layout."""
        return all(self.columns[key] in names for key in self.signature)


_REQUIRED = ("ts", "mmsi", "lat", "lon")

_DMA = {
    "ts": "timestamp", "mobile": "type of mobile", "mmsi": "mmsi", "lat": "latitude",
    "lon": "longitude", "status": "navigational status", "sog": "sog", "cog": "cog",
    "heading": "heading", "imo": "imo", "callsign": "callsign", "name": "name",
    "ship_type": "ship type", "width": "width", "length": "length",
    "destination": "destination", "a": "a", "b": "b", "c": "c", "d": "d",
}  # fmt: skip
_NOAA_2015 = {
    "mmsi": "mmsi", "ts": "basedatetime", "lat": "lat", "lon": "lon", "sog": "sog",
    "cog": "cog", "heading": "heading", "name": "vesselname", "imo": "imo",
    "callsign": "callsign", "ship_type": "vesseltype", "status": "status",
    "length": "length", "width": "width", "transceiver": "transceiverclass",
}  # fmt: skip
_NOAA_2025 = {
    "mmsi": "mmsi", "ts": "base_date_time", "lat": "latitude", "lon": "longitude",
    "sog": "sog", "cog": "cog", "heading": "heading", "name": "vessel_name", "imo": "imo",
    "callsign": "call_sign", "ship_type": "vessel_type", "status": "status",
    "length": "length", "width": "width", "transceiver": "transceiver",
}  # fmt: skip

#: In sniffing order: the first layout a header matches is its layout.
LAYOUTS: tuple[HeaderLayout, ...] = (
    HeaderLayout("dma-csv", _DMA, (*_REQUIRED, "mobile")),
    HeaderLayout("noaa-csv", _NOAA_2015, _REQUIRED),  # 2015-2024
    HeaderLayout("noaa-csv", _NOAA_2025, _REQUIRED),  # "csv2", 2025
)

#: ITU-R M.1371-5 table 45 navigational status, as the archives spell it.
NAV_STATUS: Mapping[str, int] = {
    "under way using engine": 0, "at anchor": 1, "not under command": 2,
    "restricted manoeuvrability": 3, "restricted maneuverability": 3,
    "restricted manoeuverability": 3, "constrained by her draught": 4, "moored": 5,
    "aground": 6, "engaged in fishing": 7, "under way sailing": 8,
    "reserved for future amendment [hsc]": 9, "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use": 13, "ais-sart": 14, "ais-sart (active)": 14,
}  # fmt: skip

#: DMA ship-type text -> a representative ITU-R M.1371-5 table 53 code (hazard digit 0).
DMA_SHIP_TYPES: Mapping[str, int] = {
    "wig": 20, "wing in ground": 20, "fishing": 30, "towing": 31, "towing long/wide": 32,
    "dredging": 33, "diving": 34, "military": 35, "sailing": 36, "pleasure": 37,
    "hsc": 40, "pilot": 50, "sar": 51, "tug": 52, "port tender": 53,
    "anti-pollution": 54, "law enforcement": 55, "spare 1": 56, "spare 2": 57,
    "medical": 58, "not party to conflict": 59, "passenger": 60, "cargo": 70,
    "tanker": 80, "other": 90,
}  # fmt: skip

#: Station kind (DMA "Type of mobile", NOAA transceiver class) -> msg_type of its positions.
POSITION_TYPES: Mapping[str, int] = {
    "class a": 1, "a": 1, "class b": 18, "b": 18, "base station": 4, "aton": 21,
    "sar airborne": 9,
}  # fmt: skip
#: The same for its static reports (0 where the kind sends none).
STATIC_TYPES: Mapping[str, int] = {"class a": 5, "a": 5, "class b": 24, "b": 24, "aton": 21}
