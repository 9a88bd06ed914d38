"""Zones derived from point features by geodesic buffers: belts and safety zones.

Distances come from UNCLOS: the territorial sea extends up to 12 nm from the baselines
(art. 3), the contiguous zone up to 24 nm (art. 33(2)), and a safety zone around an
installation up to 500 m (art. 60(5)). Measured from feature *positions* rather than
baselines, a belt is geometry that approximates them: it is ``declared_by = "geometric"``
and says so in its note. Nothing here asserts that any state holds such a zone.

A pack declares its derived zones in ``derived-zones.toml`` (parsed by the caller; this
module gets the dict)::

    [[buffer]]
    id = "senkaku-diaoyu-12nm"            # one zone from a list of features ...
    kind = "territorial_sea_belt"
    names = { en = "...", ja = "...", zh = "..." }
    declared_by = "geometric"
    features = ["uotsuri", "kuba"]         # feature ids
    inner_nm = 0.0                         # optional, default 0 (or inner_m)
    outer_nm = 12.0                        # or outer_m = 500
    source = "..."
    verified = true                        # or "from_feature"
    note = "..."                           # optional

    [[buffer]]                             # ... or one zone per feature of a kind
    feature_kind = "platform"
    id_suffix = "safety-zone"              # zone id = "{feature_id}-{id_suffix}"
    names = { en = "{feature}: safety zone" }  # {feature}: the feature's name in that
                                               # language (en if it has none); a name
                                               # without {feature} gets it as a prefix
    ...

With ``verified = "from_feature"`` a zone is verified when all its features are, and the
notes of unverified features are appended to its note. Errors name the file, the entry,
its id and the field. This module builds zones; it must not read files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from seabridge.errors import PackError
from seabridge.geo._fields import check_id, check_names, check_text
from seabridge.geo.buffers import belt
from seabridge.geo.features import Feature
from seabridge.geo.zones import Zone
from seabridge.units import M_PER_NM

__all__ = [
    "BELT_NOTE",
    "CONTIGUOUS_ZONE_NM",
    "SAFETY_ZONE_M",
    "SAFETY_ZONE_NAMES",
    "TERRITORIAL_SEA_NM",
    "buffer_zone",
    "contiguous_zone_belt",
    "derived_zones",
    "safety_zones",
    "territorial_sea_belt",
]

TERRITORIAL_SEA_NM = 12.0  # UNCLOS art. 3
CONTIGUOUS_ZONE_NM = 24.0  # UNCLOS art. 33(2)
SAFETY_ZONE_M = 500.0  # UNCLOS art. 60(5)
BELT_NOTE = (
    "Geometry, not a claim: the union of geodesic buffers around the feature positions, "
    "which approximates what buffers from baselines would give."
)
SAFETY_ZONE_NAMES = {
    "en": "{feature} 500 m safety zone",
    "ja": "{feature} 500 m 安全水域",
    "zh": "{feature} 500 米安全地带",
}
_ENTRY_KEYS = frozenset(
    {
        "id",
        "id_suffix",
        "kind",
        "names",
        "declared_by",
        "features",
        "feature_kind",
        "inner_nm",
        "inner_m",
        "outer_nm",
        "outer_m",
        "source",
        "verified",
        "note",
    }
)
FROM_FEATURE = "from_feature"


def _note(base: str, features: Iterable[Feature]) -> str:
    extra = [f"{f.id}: {f.note}" for f in features if not f.verified and f.note]
    return " ".join(part for part in (base, *extra) if part)


def buffer_zone(
    features: Sequence[Feature],
    *,
    zone_id: str,
    kind: str,
    names: Mapping[str, str],
    outer_m: float,
    inner_m: float = 0.0,
    source: str,
    verified: bool,
    note: str = "",
    declared_by: str = "geometric",
) -> Zone:
    """A zone of all points beyond ``inner_m`` and within ``outer_m`` of any feature.

    Raises:
        PackError: no features, bad distances, or an invalid zone field (naming the zone).
    """
    if not features:
        raise PackError(f"zone {zone_id!r}: field 'features': no features to buffer")
    try:
        geometry = belt([feature.point for feature in features], inner_m, outer_m)
    except ValueError as error:
        raise PackError(f"zone {zone_id!r}: {error}") from None
    return Zone(
        id=zone_id,
        kind=kind,
        names=names,
        declared_by=declared_by,
        source=source,
        verified=verified,
        note=note,
        geometry=geometry,
    )


def territorial_sea_belt(
    features: Sequence[Feature],
    *,
    zone_id: str,
    names: Mapping[str, str],
    source: str,
    verified: bool = True,
    note: str = BELT_NOTE,
) -> Zone:
    """All waters within 12 nm (UNCLOS art. 3) of any of the features."""
    return buffer_zone(
        features,
        zone_id=zone_id,
        kind="territorial_sea_belt",
        names=names,
        outer_m=TERRITORIAL_SEA_NM * M_PER_NM,
        source=source,
        verified=verified,
        note=note,
    )


def contiguous_zone_belt(
    features: Sequence[Feature],
    *,
    zone_id: str,
    names: Mapping[str, str],
    source: str,
    verified: bool = True,
    note: str = BELT_NOTE,
) -> Zone:
    """The ring beyond 12 nm and up to 24 nm (UNCLOS art. 33(2)) from the features."""
    return buffer_zone(
        features,
        zone_id=zone_id,
        kind="contiguous_zone_belt",
        names=names,
        inner_m=TERRITORIAL_SEA_NM * M_PER_NM,
        outer_m=CONTIGUOUS_ZONE_NM * M_PER_NM,
        source=source,
        verified=verified,
        note=note,
    )


def _fill(template: Mapping[str, str], feature: Feature) -> dict[str, str]:
    """Names with ``{feature}`` replaced by the feature's name in the same language.

    A name without ``{feature}`` gets it as a prefix ("{feature}: name"), so zones made one
    per feature never share a name.
    """
    names = {}
    for lang, text in template.items():
        own = feature.names.get(lang, feature.names["en"])
        names[lang] = text.replace("{feature}", own) if "{feature}" in text else f"{own}: {text}"
    return names


def safety_zones(
    features: Iterable[Feature],
    *,
    source: str,
    id_suffix: str = "safety-zone",
    names: Mapping[str, str] = SAFETY_ZONE_NAMES,
    note: str = "",
    radius_m: float = SAFETY_ZONE_M,
) -> list[Zone]:
    """A 500 m safety zone (UNCLOS art. 60(5)) around each feature, one zone per feature.

    Each zone is verified when its feature is; an unverified feature's note is appended.
    """
    return [
        buffer_zone(
            [feature],
            zone_id=f"{feature.id}-{id_suffix}",
            kind="safety_zone",
            names=_fill(names, feature),
            outer_m=radius_m,
            source=source,
            verified=feature.verified,
            note=_note(note, [feature]),
        )
        for feature in features
    ]


def _number(entry: Mapping[str, Any], key: str, what: str) -> float:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PackError(f"{what}: field {key!r}: expected a number, got {value!r:.60}")
    if not (math.isfinite(value) and value >= 0.0):
        raise PackError(f"{what}: field {key!r}: expected a distance >= 0, got {value!r}")
    return float(value)


def _length_m(entry: Mapping[str, Any], name: str, what: str) -> float | None:
    """``{name}_nm`` or ``{name}_m`` in metres (None when neither is given)."""
    nm_key, m_key = f"{name}_nm", f"{name}_m"
    if nm_key in entry and m_key in entry:
        raise PackError(f"{what}: field {nm_key!r}: give {nm_key!r} or {m_key!r}, not both")
    if nm_key in entry:
        return _number(entry, nm_key, what) * M_PER_NM
    if m_key in entry:
        return _number(entry, m_key, what)
    return None


def _distances(entry: Mapping[str, Any], what: str) -> tuple[float, float]:
    inner_m = _length_m(entry, "inner", what) or 0.0
    outer_m = _length_m(entry, "outer", what)
    if outer_m is None:
        raise PackError(f"{what}: field 'outer_nm' (or 'outer_m') is missing")
    if outer_m <= inner_m:
        raise PackError(
            f"{what}: field 'outer_nm': the outer distance ({outer_m:.0f} m) must exceed "
            f"the inner one ({inner_m:.0f} m)"
        )
    return inner_m, outer_m


def _selected(
    entry: Mapping[str, Any], features: Mapping[str, Feature], what: str
) -> list[Feature]:
    """The features an entry names, by id list or by kind."""
    if ("features" in entry) == ("feature_kind" in entry):
        raise PackError(f"{what}: field 'features': give either 'features' or 'feature_kind'")
    if "feature_kind" in entry:
        kind = check_text(entry["feature_kind"], what, "feature_kind")
        chosen = [feature for feature in features.values() if feature.kind == kind]
        if not chosen:
            raise PackError(f"{what}: field 'feature_kind': no feature of kind {kind!r}")
        return chosen
    ids = entry["features"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise PackError(f"{what}: field 'features': expected a non-empty list of feature ids")
    unknown = [feature_id for feature_id in ids if feature_id not in features]
    if unknown:
        raise PackError(
            f"{what}: field 'features': unknown feature(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(features)}"
        )
    return [features[feature_id] for feature_id in ids]


def _entry_zones(
    entry: Mapping[str, Any], features: Mapping[str, Feature], what: str
) -> list[Zone]:
    """The zones of one [[buffer]] entry (``what`` names the file, entry and id)."""
    for key in ("kind", "names", "declared_by", "source", "verified"):
        if key not in entry:
            raise PackError(f"{what}: field {key!r} is missing")
    inner_m, outer_m = _distances(entry, what)
    chosen = _selected(entry, features, what)
    verified = entry["verified"]
    if not isinstance(verified, bool) and verified != FROM_FEATURE:
        raise PackError(f"{what}: field 'verified': expected true, false or {FROM_FEATURE!r}")
    names = check_names(entry["names"], what)
    note = check_text(entry.get("note", ""), what, "note", required=False)
    per_feature = "feature_kind" in entry
    groups = [[feature] for feature in chosen] if per_feature else [chosen]
    zones = []
    for group in groups:
        if per_feature:
            if "id" in entry:
                raise PackError(f"{what}: field 'id': use 'id_suffix' with 'feature_kind'")
            suffix = check_id(entry.get("id_suffix"), f"{what}: field 'id_suffix'")
            zone_id, zone_names = f"{group[0].id}-{suffix}", _fill(names, group[0])
        else:
            zone_id, zone_names = check_id(entry.get("id"), what), names
        from_feature = verified == FROM_FEATURE
        zones.append(
            buffer_zone(
                group,
                zone_id=zone_id,
                kind=entry["kind"],
                names=zone_names,
                outer_m=outer_m,
                inner_m=inner_m,
                source=entry["source"],
                verified=all(f.verified for f in group) if from_feature else bool(verified),
                note=_note(note, group) if from_feature else note,
                declared_by=entry["declared_by"],
            )
        )
    return zones


def derived_zones(
    spec: Mapping[str, Any],
    features: Mapping[str, Feature],
    *,
    source_name: str = "derived-zones.toml",
) -> list[Zone]:
    """The zones a parsed ``derived-zones.toml`` declares (format in the module docstring).

    Raises:
        PackError: naming ``source_name``, the ``[[buffer]]`` entry, its id and the field.
    """
    unknown = sorted(set(spec) - {"buffer"})
    if unknown:
        raise PackError(
            f"{source_name}: unknown table(s) {', '.join(unknown)}; expected [[buffer]]"
        )
    entries = spec.get("buffer", [])
    if not isinstance(entries, list):
        raise PackError(f"{source_name}: 'buffer' must be an array of tables ([[buffer]])")
    zones: list[Zone] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries):
        where = f"{source_name}: [[buffer]] {number}"
        if not isinstance(entry, Mapping):
            raise PackError(f"{where}: expected a table")
        what = f"{where} (id {entry['id']!r})" if isinstance(entry.get("id"), str) else where
        extra = sorted(set(entry) - _ENTRY_KEYS)
        if extra:
            raise PackError(f"{what}: unknown field(s) {', '.join(extra)}")
        try:
            made = _entry_zones(entry, features, what)
        except PackError as error:
            message = str(error)
            raise PackError(message if message.startswith(what) else f"{what}: {message}") from None
        for zone in made:
            if zone.id in seen:
                raise PackError(f"{what}: field 'id': zone id {zone.id!r} is used twice")
            seen.add(zone.id)
        zones.extend(made)
    return zones
