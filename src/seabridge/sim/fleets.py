"""Generated traffic: identities for fleets and where each vessel starts.

Identities: MMSIs with the fleet's MIDs (ITU-R M.585 ship stations ``MIDxxxxxx``), drawn
outside the ``xxx998xxx`` and ``xxx999xxx`` blocks that scripted and government vessels
use; names from a pattern (``{n}`` a number, ``{merchant}`` two words); call signs with the
flag's usual prefix; valid IMO numbers (check digit) for merchant ships.

Placement keeps ordinary traffic quiet, because it must not raise alarms:

- lanes: traffic keeps to the right in parallel slots (``slot_spacing_nm`` apart, the two
  directions ``separation_nm`` apart), each slot with its share of the speed range (the
  fastest nearest the centre line); each vessel's start is drawn along its slot so that
  it never reaches the end during the run, and redrawn (up to 64 times) while its
  dead-reckoned track comes within 1.25 times the scenario's ``min_separation_nm`` of a
  vessel already placed on any lane (tracks compared minute by minute);
- fishing: each vessel gets its own square cell of the area and wanders in the middle 40 %
  of it, so neighbours stay at least 0.6 cell apart;
- anchored or moored: berths on a grid ``spacing_nm`` apart.

Every draw comes from a Generator seeded by the scenario seed and the fleet id
(:func:`seabridge.sim.draws.fleet_rng`), so fleets do not disturb each other.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seabridge.ais.mid import flag_for_mmsi
from seabridge.sim.controllers import FishTask
from seabridge.sim.shapes import Route, flat_vector_m

__all__ = [
    "LanePlacer",
    "callsign_for",
    "fishing_cells",
    "imo_number",
    "merchant_name",
    "pick_mmsis",
]

F64 = NDArray[np.float64]
_CALLSIGN_PREFIX = {
    "CN": "B",
    "JP": "J",
    "KR": "D7",
    "TW": "BM",
    "HK": "VR",
    "PA": "3E",
    "LR": "A8",
    "MH": "V7",
    "SG": "9V",
    "MT": "9H",
    "BS": "C6",
    "KP": "HM",
    "RU": "UB",
    "VN": "3W",
    "PH": "DU",
    "GR": "SV",
    "CY": "5B",
}
_WORDS_1 = (
    "OCEAN",
    "EASTERN",
    "PACIFIC",
    "GOLDEN",
    "SILVER",
    "GRAND",
    "NEW",
    "BRIGHT",
    "ORIENT",
    "JADE",
    "PEARL",
    "MORNING",
    "NORTHERN",
    "SOUTHERN",
    "BLUE",
    "GREAT",
    "LUCKY",
    "ROYAL",
    "STAR",
    "SUNNY",
    "HARBOUR",
    "CORAL",
    "CRYSTAL",
    "EVER",
    "TRUE",
)
_WORDS_2 = (
    "PEARL",
    "STAR",
    "GLORY",
    "HARMONY",
    "FORTUNE",
    "BRIDGE",
    "WAVE",
    "SPIRIT",
    "VENTURE",
    "PROSPERITY",
    "HORIZON",
    "DRAGON",
    "PHOENIX",
    "CRANE",
    "LOTUS",
    "TIDE",
    "WIND",
    "LINK",
    "TRADER",
    "CARRIER",
    "EXPRESS",
    "PIONEER",
    "DAWN",
    "GRACE",
    "UNITY",
)
_ALNUM = string.ascii_uppercase + string.digits
_LANE_TRIES = 64
_SNAPSHOT_S = 60.0


def pick_mmsis(
    rng: np.random.Generator, mids: list[int], weights: list[float], count: int, taken: set[int]
) -> list[int]:
    """``count`` new ship-station MMSIs with the given MIDs, none in ``taken`` (updated)."""
    chosen: list[int] = []
    probabilities = np.asarray(weights) / np.sum(weights)
    while len(chosen) < count:
        mid = int(mids[int(rng.choice(len(mids), p=probabilities))])
        number = mid * 1_000_000 + int(rng.integers(100_000, 998_000))
        if number not in taken:
            taken.add(number)
            chosen.append(number)
    return chosen


def merchant_name(rng: np.random.Generator) -> str:
    return (
        f"{_WORDS_1[int(rng.integers(len(_WORDS_1)))]} {_WORDS_2[int(rng.integers(len(_WORDS_2)))]}"
    )


def callsign_for(rng: np.random.Generator, mmsi: int, prefix: str | None) -> str:
    """A call sign: the given prefix or the flag's usual one, then letters and digits."""
    if prefix is None:
        prefix = _CALLSIGN_PREFIX.get(flag_for_mmsi(mmsi) or "", "X")
    tail = "".join(_ALNUM[int(i)] for i in rng.integers(0, len(_ALNUM), 5 - min(len(prefix), 3)))
    return (prefix + tail)[:7]


def imo_number(rng: np.random.Generator) -> int:
    """A 7-digit IMO number whose last digit is its check digit (weights 7..2)."""
    digits = [int(rng.integers(1, 10))] + [int(d) for d in rng.integers(0, 10, 5)]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return int("".join(map(str, digits)) + str(check))


def fishing_cells(
    boxes: tuple[F64, F64, F64, F64], chosen: NDArray[np.intp], task: FishTask
) -> list[FishTask]:
    """One task per chosen cell: the cell's middle 40 % as the vessel's box."""
    south, west, north, east = (part[chosen] for part in boxes)
    margin_lat, margin_lon = (north - south) * 0.3, (east - west) * 0.3
    return [
        FishTask(
            float(s + ml),
            float(w + mo),
            float(n - ml),
            float(e - mo),
            task.speed_kn,
            task.haul_speed_kn,
            task.haul_every_s,
            task.haul_for_s,
            task.leg_s,
        )
        for s, w, n, e, ml, mo in zip(south, west, north, east, margin_lat, margin_lon, strict=True)
    ]


@dataclass
class _Track:
    lat: F64
    lon: F64


class LanePlacer:
    """Places lane traffic so that no two dead-reckoned tracks come close (module doc)."""

    def __init__(self, duration_s: float, clearance_m: float) -> None:
        self.times_s = np.arange(0.0, duration_s + _SNAPSHOT_S, _SNAPSHOT_S)
        self.clearance_m = clearance_m
        self._tracks: list[_Track] = []
        self._boxes = np.empty((0, 4))
        self.conflicts = 0

    def place(self, rng: np.random.Generator, route: Route, speed_kn: float) -> float:
        """A start distance along ``route`` for a vessel at ``speed_kn``; records its track.

        Raises:
            ValueError: the route is too short to hold the vessel for the whole run.
        """
        travel_m = speed_kn * 1852.0 / 3600.0 * float(self.times_s[-1])
        room_m = route.length_m - travel_m - 1852.0
        if room_m <= 0:
            raise ValueError(
                f"the lane is {route.length_m / 1852:.0f} nm long but a vessel at "
                f"{speed_kn:.1f} kn covers {travel_m / 1852:.0f} nm in the run"
            )
        best: tuple[float, _Track] | None = None
        for _ in range(_LANE_TRIES):
            start_m = float(rng.uniform(0.0, room_m))
            track = self._track(route, start_m, speed_kn)
            gap = self._closest_m(track)
            if best is None or gap > best[0]:
                best = (gap, track)
                chosen = start_m
            if gap >= self.clearance_m:
                break
        assert best is not None
        if best[0] < self.clearance_m:
            self.conflicts += 1
        self._tracks.append(best[1])
        self._boxes = np.vstack([self._boxes, self._box(best[1])])
        return chosen

    def _track(self, route: Route, start_m: float, speed_kn: float) -> _Track:
        lat, lon, _ = route.at(start_m + speed_kn * 1852.0 / 3600.0 * self.times_s)
        return _Track(lat, lon)

    def _box(self, track: _Track) -> NDArray[np.float64]:
        """The track's bounding box grown by the clearance (degrees: S, W, N, E)."""
        grow_lat = self.clearance_m / 110_000.0
        grow_lon = grow_lat / max(np.cos(np.radians(float(np.max(np.abs(track.lat))))), 0.1)
        return np.asarray(
            [
                track.lat.min() - grow_lat,
                track.lon.min() - grow_lon,
                track.lat.max() + grow_lat,
                track.lon.max() + grow_lon,
            ]
        )

    def _closest_m(self, track: _Track) -> float:
        if not self._tracks:
            return float("inf")
        south, west, north, east = self._box(track)
        boxes = self._boxes
        near = np.flatnonzero(
            (boxes[:, 0] <= north) & (boxes[:, 2] >= south)
            & (boxes[:, 1] <= east) & (boxes[:, 3] >= west)
        )  # fmt: skip
        if near.size == 0:
            return float("inf")
        lat = np.stack([self._tracks[i].lat for i in near.tolist()])
        lon = np.stack([self._tracks[i].lon for i in near.tolist()])
        east_m, north_m = flat_vector_m(track.lat[None, :], track.lon[None, :], lat, lon)
        return float(np.min(np.hypot(east_m, north_m)))
