"""Parties: the agencies that run Seabridge nodes, and the government vessels they operate.

A party is an agency (``jcg``, ``ccg``) that belongs to a state (ISO 3166-1 alpha-2: ``JP``,
``CN``); states declare zones, parties own hotline logs and fleets. Detection, incidents and
the hotline all need to know which vessel belongs to which party and cannot import each
other, so this small model lives on the ground floor. It reads the pack's ``parties`` file
(``[[party]]`` tables) and validates every field; it must not import any domain package.

A party's fleet is a set of MMSIs: explicit numbers and inclusive ranges. Every MMSI in a
fleet must be a ship station (``MIDxxxxxx``, ITU-R M.585 annex 1 §2) whose MID is one of the
party's state's MIDs, and no MMSI may belong to two parties.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from seabridge.errors import PackError
from seabridge.packs._pack import Pack
from seabridge.packs.schema import ISO2_PATTERN, SLUG_PATTERN, Fields, Where, check_integer

__all__ = [
    "Fleet",
    "Party",
    "load_parties",
    "parse_parties",
    "party_for_mmsi",
    "party_index",
    "require_party",
]

_MMSI_MIN: Final = 200_000_000  # ship stations start with a MID, and MIDs run 201-775
_MMSI_MAX: Final = 799_999_999
_MID_MIN: Final = 201  # ITU-R M.585: MIDs are allocated from 201 to 775
_MID_MAX: Final = 775
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Fleet:
    """A party's government vessels: explicit MMSIs and inclusive ``(first, last)`` ranges."""

    mmsis: tuple[int, ...] = ()
    ranges: tuple[tuple[int, int], ...] = ()

    def __contains__(self, mmsi: object) -> bool:
        if not isinstance(mmsi, int | np.integer):
            return False
        value = int(mmsi)
        return value in self.mmsis or any(first <= value <= last for first, last in self.ranges)

    def mask(self, mmsis: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorized membership: one boolean per MMSI of ``mmsis``."""
        values = np.asarray(mmsis, dtype=np.int64)
        inside = np.isin(values, np.asarray(self.mmsis, dtype=np.int64))
        for first, last in self.ranges:
            inside |= (values >= first) & (values <= last)
        return inside


@dataclass(frozen=True, slots=True)
class Party:
    """An agency that runs a node: its state, names, the state's MIDs and its fleet."""

    id: str
    """Short identifier, e.g. ``jcg``."""
    state: str
    """ISO 3166-1 alpha-2 code of the agency's state, e.g. ``JP``."""
    language: str
    """The party's own working language (a tag such as ``ja``)."""
    names: Mapping[str, str] = field(hash=False)
    """Name by language tag; always ``en`` and :attr:`language`."""
    mids: tuple[int, ...]
    """Maritime Identification Digits of the state (ITU-R M.585), e.g. ``(431, 432)``."""
    fleet: Fleet
    source: str = ""
    note: str = ""

    def in_fleet(self, mmsi: int) -> bool:
        """Whether ``mmsi`` is one of the party's government vessels."""
        return mmsi in self.fleet

    def fleet_mask(self, mmsis: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorized :meth:`in_fleet`: one boolean per MMSI."""
        return self.fleet.mask(mmsis)

    def name(self, language: str) -> str:
        """The name in ``language``, or the English name when there is none."""
        return self.names.get(language, self.names["en"])


def party_for_mmsi(parties: Iterable[Party], mmsi: int) -> Party | None:
    """The party whose fleet holds ``mmsi``, or ``None`` (fleets never overlap)."""
    return next((party for party in parties if party.in_fleet(mmsi)), None)


def party_index(parties: Sequence[Party], mmsis: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Vectorized :func:`party_for_mmsi`: the index in ``parties`` per MMSI, -1 for none."""
    values = np.asarray(mmsis, dtype=np.int64)
    index = np.full(values.shape, -1, dtype=np.int16)
    for i, party in enumerate(parties):
        index[party.fleet_mask(values)] = i
    return index


def load_parties(pack: Pack) -> tuple[Party, ...]:
    """The parties of ``pack`` (its ``[files] parties`` file), validated.

    Raises:
        PackError: the file is missing or unreadable, or a field is invalid; the message
            names the file and the field, e.g. ``parties.toml: party[1].state: ...``.
    """
    return parse_parties(pack.read_toml("parties"), pack.where("parties"), pack.languages)


def parse_parties(
    data: dict[str, object], where: Where, languages: Sequence[str] = ("en",)
) -> tuple[Party, ...]:
    """Validate a parsed parties file (``[[party]]`` tables); errors are located at ``where``.

    Args:
        data: The parsed TOML.
        where: The file, for error messages.
        languages: The pack's languages; every party is named in each of them.
    """
    top = Fields(data, where)
    tables = top.tables("party")
    top.finish()
    if not tables:
        raise where.key("party").error("no parties: add at least one [[party]] table")
    parties = tuple(_party(table, languages) for table in tables)
    _check_unique(parties, tables)
    return parties


def _party(table: Fields, languages: Sequence[str]) -> Party:
    party_id = table.text("id", pattern=SLUG_PATTERN, what="an id (a-z, 0-9, -, _)")
    state = table.text("state", pattern=ISO2_PATTERN, what="an ISO 3166 alpha-2 code (e.g. JP)")
    language = table.text("language", pattern=_LANGUAGE, what="a language tag (e.g. ja)")
    names = table.names("names", required=("en", language, *languages))
    mids = _mids(table)
    fleet = _fleet(table.table("fleet"), mids)
    party = Party(
        id=party_id,
        state=state,
        language=language,
        names=names,
        mids=mids,
        fleet=fleet,
        source=table.text("source"),
        note=table.text("note", ""),
    )
    table.finish()
    return party


def _mids(table: Fields) -> tuple[int, ...]:
    where = table.at("mids")
    items = table.array("mids")
    if not items:
        raise where.error("list the MIDs of the state (ITU-R M.585), e.g. [431, 432]")
    return tuple(
        check_integer(item, where.index(i), _MID_MIN, _MID_MAX) for i, item in enumerate(items)
    )


def _fleet(table: Fields, mids: tuple[int, ...]) -> Fleet:
    mmsis_where = table.at("mmsis")
    mmsis = tuple(
        _mmsi(item, mmsis_where.index(i), mids) for i, item in enumerate(table.array("mmsis", []))
    )
    ranges: list[tuple[int, int]] = []
    ranges_where = table.at("ranges")
    for i, item in enumerate(table.array("ranges", [])):
        where = ranges_where.index(i)
        if not isinstance(item, list) or len(item) != 2:
            raise where.error("expected [first, last], an inclusive range of MMSIs")
        first, last = (_mmsi(value, where.index(j), mids) for j, value in enumerate(item))
        if first > last:
            raise where.error(f"first MMSI {first} is after last MMSI {last}")
        if first // 1_000_000 != last // 1_000_000:
            raise where.error("a range must stay within one MID (first and last share it)")
        ranges.append((first, last))
    table.text("note", "")
    table.finish()
    if len(set(mmsis)) != len(mmsis):
        raise mmsis_where.error("lists an MMSI twice")
    return Fleet(mmsis=mmsis, ranges=tuple(ranges))


def _mmsi(value: object, where: Where, mids: tuple[int, ...]) -> int:
    mmsi = check_integer(value, where, _MMSI_MIN, _MMSI_MAX)
    if mmsi // 1_000_000 not in mids:
        allowed = ", ".join(str(mid) for mid in mids)
        raise where.error(
            f"{mmsi} is not a ship MMSI of the party's state (its MID {mmsi // 1_000_000} "
            f"is not one of {allowed})"
        )
    return mmsi


def _check_unique(parties: tuple[Party, ...], tables: list[Fields]) -> None:
    seen: dict[str, int] = {}
    for i, party in enumerate(parties):
        if party.id in seen:
            raise tables[i].at("id").error(f"{party.id!r} is also party[{seen[party.id]}]'s id")
        seen[party.id] = i
    for i, party in enumerate(parties):
        for j in range(i + 1, len(parties)):
            shared = _shared_mmsi(party.fleet, parties[j].fleet)
            if shared is not None:
                raise (
                    tables[j]
                    .at("fleet")
                    .error(
                        f"MMSI {shared} is also in party[{i}] ({party.id})'s fleet; "
                        "an MMSI belongs to one party"
                    )
                )


def _shared_mmsi(a: Fleet, b: Fleet) -> int | None:
    """One MMSI in both fleets, or ``None``."""
    for mmsi in a.mmsis:
        if mmsi in b:
            return mmsi
    for mmsi in b.mmsis:
        if mmsi in a:
            return mmsi
    for first_a, last_a in a.ranges:
        for first_b, last_b in b.ranges:
            if first_a <= last_b and first_b <= last_a:
                return max(first_a, first_b)
    return None


def require_party(parties: Iterable[Party], party_id: str) -> Party:
    """The party with ``party_id``, or a :class:`PackError` listing the known ones."""
    found = {party.id: party for party in parties}
    if party_id not in found:
        raise PackError(f"no party {party_id!r} in the pack (parties: {', '.join(found)})")
    return found[party_id]
