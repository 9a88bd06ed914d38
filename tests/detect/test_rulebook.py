"""Rulebooks: validation errors that name the file and the field, the canonical form and
its hash, the built-in ecs-standard, and finding rulebooks in a pack."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from seabridge.detect import KINDS, build_rules, load_rulebook, pack_rulebooks, parse_rulebook
from seabridge.detect.rulebook import Rulebook
from seabridge.errors import PackError
from seabridge.geo import load_zones
from seabridge.packs import load_pack, load_parties

PACK = load_pack("ecs")
ZONES = load_zones(PACK)
PARTIES = load_parties(PACK)

BASE = """\
id: test-book
version: 3
title: A test rulebook
parties: [jcg, ccg]
effective: 2026-01-01
references:
  - {id: src, title: A source}
rules:
  - id: cq
    kind: close_quarters
    params: {threshold: 0.5 nm, horizon: 12 min}
    sources: {threshold: [src]}
    applies: {underway_only: true}
    level: 1
    grades:
      - {level: 2, when: {cpa_m: {below: 0.5 nm}}, fleets: any}
      - {level: 3, when: {cpa_m: {below: 0.2 nm}}, fleets: any}
"""


def parse(text: str, source: str = "book.yaml") -> Rulebook:
    return parse_rulebook(text, source, zone_ids=ZONES.ids, parties=PARTIES)


def error_of(text: str) -> str:
    with pytest.raises(PackError) as caught:
        parse(text)
    return str(caught.value)


def test_base_parses_with_units_converted() -> None:
    book = parse(BASE)
    entry = book.rule("cq")
    assert entry.params["threshold"] == 0.5 and entry.params["horizon"] == 12.0
    assert entry.params["min_speed"] == 0.5  # default filled in
    assert [g.level for g in entry.grades] == [2, 3]
    assert entry.grades[0].when[0].below == pytest.approx(926.0)
    assert entry.grades[1].when[0].below == pytest.approx(370.4)
    assert entry.applies.underway_only is True
    assert book.ref.as_json() == {"id": "test-book", "version": 3, "sha256": book.sha256}
    assert re.fullmatch(r"[0-9a-f]{64}", book.sha256)


RULE = r"book\.yaml: rules\[0\]\."
ERRORS = [
    (
        "kind: close_quarters",
        "kind: close_quaters",
        RULE + r"kind: unknown rule kind 'close_quaters' \(known: .*close_quarters",
    ),
    (
        "threshold: 0.5 nm",
        "threshold: 7 nm",
        RULE + "params.threshold: 7 nm is above the maximum 5 nm",
    ),
    (
        "threshold: 0.5 nm",
        "threshold: 5 m",
        RULE + r"params\.threshold: 5 m \(0\.0027 nm\) is below the minimum 0\.01 nm",
    ),
    (
        "threshold: 0.5 nm",
        "threshold: 0.5 furlong",
        RULE + "params.threshold: unknown unit 'furlong'",
    ),
    (
        "threshold: 0.5 nm",
        "threshold: 30 s",
        RULE + "params.threshold: '30 s' is a time, expected a length in nm",
    ),
    (
        "threshold: 0.5 nm",
        "threshold: half a mile",
        RULE + "params.threshold: 'half a mile' is not a",
    ),
    (
        "horizon: 12 min",
        "horizon: 12 min, radius: 3 nm",
        RULE + r"params\.radius: unknown parameter of close_quarters \(its parameters: threshold",
    ),
    (
        "applies: {underway_only: true}",
        "applies: {zones: [atlantis-12nm]}",
        RULE + r"applies\.zones\[0\]: unknown zone 'atlantis-12nm' \(known: .*senkaku",
    ),
    (
        "applies: {underway_only: true}",
        "applies: {fleets: [jcg, usn]}",
        RULE + r"applies\.fleets\[1\]: unknown party 'usn' \(known: jcg, ccg\)",
    ),
    (
        "applies: {underway_only: true}",
        "applies: {flags: [JP, NO]}",
        RULE + r"applies\.flags\[1\]: False is a YAML boolean: quote flag codes",
    ),
    (
        "applies: {underway_only: true}",
        "applies: {ship_types: [30, '60-69', [80, 70]]}",
        RULE + r"applies\.ship_types\[2\]: .*first <= last",
    ),
    (
        "fleets: any}\n      - {level: 3",
        "fleets: [jcg, nobody]}\n      - {level: 3",
        RULE + r"grades\[0\]\.fleets\[1\]: unknown party 'nobody'",
    ),
    (
        "when: {cpa_m: {below: 0.2 nm}}",
        "when: {dcpa_m: {below: 0.2 nm}}",
        RULE + r"grades\[1\]\.when\.dcpa_m: unknown metric of close_quarters "
        r"\(its metrics: cpa_m, tcpa_s, range_m\)",
    ),
    (
        "when: {cpa_m: {below: 0.2 nm}}",
        "when: {cpa_m: {below: 2 min}}",
        RULE + r"grades\[1\]\.when\.cpa_m\.below: '2 min' is a time, expected a length in m",
    ),
    ("level: 1\n", "level: 5\n", RULE + "level: 5 is above the maximum 4"),
    (
        "sources: {threshold: [src]}",
        "sources: {threshold: [gfw]}",
        RULE + r"sources\.threshold\[0\]: unknown reference 'gfw'",
    ),
    (
        "sources: {threshold: [src]}",
        "sources: {treshold: [src]}",
        RULE + "sources.treshold: cites a source for 'treshold'",
    ),
    ("parties: [jcg, ccg]", "parties: [jcg, uscg]", r"book\.yaml: parties\[1\]: unknown party"),
    ("version: 3", "version: three", r"book\.yaml: version: expected an integer"),
    ("effective: 2026-01-01", "effective: soon", r"book\.yaml: effective: 'soon' is not a date"),
    ("    level: 1\n", "    level: 1\n    levl: 2\n", r"rules\[0\]: unknown key 'levl'"),
    (
        "title: A test rulebook",
        "title: A test rulebook\ntitle: again",
        r"book\.yaml: invalid YAML at line 4, column 1: key 'title' is given twice",
    ),
    ("rules:\n", "rules: [\n", r"book\.yaml: invalid YAML at line \d+, column \d+"),
]


@pytest.mark.parametrize(("old", "new", "message"), ERRORS)
def test_errors_name_the_file_and_the_field(old: str, new: str, message: str) -> None:
    assert old in BASE
    assert re.search(message, error_of(BASE.replace(old, new, 1))), error_of(
        BASE.replace(old, new, 1)
    )


def test_duplicate_rule_ids_and_empty_rules_are_errors() -> None:
    rule = BASE[BASE.index("  - id: cq") :]
    assert re.search(r"rules\[1\]\.id: 'cq' is also rules\[0\]'s id", error_of(BASE + rule))
    head = BASE[: BASE.index("rules:")]
    assert re.search(r"book\.yaml: rules: no rules", error_of(head + "rules: []\n"))


def test_canonical_form_ignores_key_order_unit_spelling_rule_order_and_comments() -> None:
    reference = parse(BASE)
    respelled = (
        BASE.replace("threshold: 0.5 nm", "threshold: 926 m")
        .replace("horizon: 12 min", "horizon: 720")  # a bare number is in the table unit
        .replace("horizon: 720", "horizon: 0.2 h")
        .replace("{below: 0.2 nm}", "{below: 370.4 m}")
        .replace(
            "params: {threshold: 926 m, horizon: 0.2 h}",
            "params: {horizon: 0.2 h, threshold: 926 m}",
        )
        .replace("level: 1\n", "level: 1  # advisory\n")
    )
    assert respelled != BASE
    assert parse(respelled).sha256 == reference.sha256
    # Keys of every mapping reordered (YAML round trip with the keys reversed).
    data = yaml.safe_load(BASE)

    def reverse(value: object) -> object:
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(item) for item in value]
        return value

    shuffled = yaml.safe_dump(reverse(data), sort_keys=False)
    assert parse(shuffled).sha256 == reference.sha256
    # Defaults written out give the same standard as defaults left implicit.
    explicit = BASE.replace("horizon: 12 min}", "horizon: 12 min, min_speed: 0.5 kn}")
    assert parse(explicit).sha256 == reference.sha256
    # Rules in another order: the same standard.
    other = (
        "  - id: aa-first\n    kind: close_quarters\n    params: {threshold: 0.3 nm}\n"
        "    level: 2\n"
    )
    two = parse(BASE + other)
    rules_at = BASE.index("rules:\n") + len("rules:\n")
    swapped = BASE[:rules_at] + other + BASE[rules_at:]
    assert parse(swapped).sha256 == two.sha256
    assert [entry.id for entry in two.rules] == ["aa-first", "cq"]


def test_hash_changes_when_the_standard_changes() -> None:
    reference = parse(BASE).sha256
    changes = [
        ("threshold: 0.5 nm", "threshold: 0.4 nm"),
        ("{below: 0.2 nm}", "{below: 0.25 nm}"),
        ("level: 1\n", "level: 2\n"),
        ("version: 3", "version: 4"),
        ("fleets: any}\n      - {level: 3", "fleets: [ccg]}\n      - {level: 3"),
        ("applies: {underway_only: true}", "applies: {underway_only: false}"),
    ]
    hashes = {parse(BASE.replace(old, new, 1)).sha256 for old, new in changes}
    assert reference not in hashes and len(hashes) == len(changes)


def test_canonical_form_is_sorted_compact_json_with_numbers_in_table_units() -> None:
    book = parse(BASE.replace("threshold: 0.5 nm", "threshold: 926 m"))
    assert '"threshold":0.5' in book.canonical
    assert '"below":926' in book.canonical and '"below":370.4' in book.canonical
    assert "#" not in book.canonical and ": " not in book.canonical.replace("A source", "")
    document = book.as_json()
    assert list(document) == sorted(document)
    assert document["rules"][0]["params"] == {
        "horizon": 12,
        "max_age": 3,
        "min_speed": 0.5,
        "threshold": 0.5,
    }


def test_builtin_ecs_standard_is_valid_and_cites_every_threshold() -> None:
    book = load_rulebook(None, PACK, zone_ids=ZONES.ids, parties=PARTIES)
    assert (book.id, book.version) == ("ecs-standard", 1)
    assert set(book.parties) == {party.id for party in PARTIES}
    text = Path(book.source).read_text(encoding="utf-8")
    written = yaml.safe_load(text)
    references = {r.id: r for r in book.references}
    for raw, entry in zip(sorted(written["rules"], key=lambda r: r["id"]), book.rules, strict=True):
        # Every parameter is written out (no silent default) and cites a source.
        assert set(raw.get("params", {})) == {spec.name for spec in KINDS[entry.kind].PARAMS}
        for name in entry.params:
            assert entry.sources.get(name), f"{entry.id}: parameter {name} cites no source"
        assert entry.sources.get("level"), f"{entry.id}: its level cites no source"
        if entry.grades:
            assert entry.sources.get("grades"), f"{entry.id}: its grades cite no source"
    for reference in references.values():
        assert reference.url or reference.note, f"reference {reference.id}: no url or note"


def test_builtin_close_quarters_is_the_standard_of_the_issue() -> None:
    book = load_rulebook("ecs-standard", PACK, zone_ids=ZONES.ids, parties=PARTIES)
    [entry] = [e for e in book.rules if e.kind == "close_quarters"]
    assert entry.params["threshold"] == 0.5 and entry.params["horizon"] == 12.0
    assert entry.applies.underway_only and entry.applies.fleets is None
    assert entry.level == 1
    grades = {
        (g.level, g.when[0].metric, round(g.when[0].below or 0, 1), g.fleets) for g in entry.grades
    }
    assert grades == {(2, "cpa_m", 926.0, "any"), (3, "cpa_m", 370.4, "any")}


def test_builtin_has_an_entry_for_every_registered_kind() -> None:
    book = load_rulebook(None, PACK, zone_ids=ZONES.ids, parties=PARTIES)
    assert {entry.kind for entry in book.rules} == set(KINDS)


def test_rulebooks_are_found_by_name_path_or_default(tmp_path: Path) -> None:
    assert set(pack_rulebooks(PACK)) >= {"ecs-standard"}
    by_default = load_rulebook(None, PACK, zone_ids=ZONES.ids, parties=PARTIES)
    by_name = load_rulebook("ecs-standard", PACK, zone_ids=ZONES.ids, parties=PARTIES)
    path = tmp_path / "mine.yaml"
    path.write_text(BASE, encoding="utf-8")
    by_path = load_rulebook(str(path), PACK, zone_ids=ZONES.ids, parties=PARTIES)
    assert by_default.sha256 == by_name.sha256 != by_path.sha256
    assert by_path.source == str(path)
    with pytest.raises(
        PackError, match=r"no rulebook 'strict' in pack ecs \(its rulebooks: ecs-standard"
    ):
        load_rulebook("strict", PACK, zone_ids=ZONES.ids, parties=PARTIES)
    with pytest.raises(PackError, match=r"nowhere\.yaml: no such rulebook file"):
        load_rulebook(str(tmp_path / "nowhere.yaml"), PACK, zone_ids=ZONES.ids, parties=PARTIES)
    path.write_text(BASE.replace("threshold: 0.5 nm", "threshold: 9 nm"), encoding="utf-8")
    with pytest.raises(PackError, match=rf"^{re.escape(str(path))}: rules\[0\]\.params\.threshold"):
        load_rulebook(path, PACK, zone_ids=ZONES.ids, parties=PARTIES)


def test_errors_a_kind_finds_when_built_name_the_entry() -> None:
    text = BASE + "  - id: zones\n    kind: zone_entry\n    level: 1\n"
    book = parse(text)  # the table is fine; zone_entry needs zones to watch
    with pytest.raises(PackError, match=r"^book\.yaml: rules\[1\]: rule 'zones' \(zone_entry\)"):
        build_rules(book, ZONES, PARTIES)
    assert len(build_rules(parse(BASE), ZONES, PARTIES)) == 1
