"""The mechanism file: the ecs one covers both parties at four levels, every template exists
in the phrasebook, bad fields are refused at their place, and the hash is stable."""

from __future__ import annotations

import re

import pytest
from incident_kit import MECHANISM, PACK

from seabridge.detect import KINDS
from seabridge.errors import PackError
from seabridge.incidents.mechanism import BY_KIND, parse_mechanism
from seabridge.packs.phrasebook import load_phrasebook

BOOK = load_phrasebook(PACK)
TEXT = PACK.file("mechanism").read_text(encoding="utf-8")


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_mechanism(
        text, "mechanism.yaml", party_ids=["jcg", "ccg"], phrasebook=BOOK, languages=PACK.languages
    )


def test_ecs_covers_both_parties_at_four_levels() -> None:
    assert set(MECHANISM.parties) == {"jcg", "ccg"}
    for party in ("jcg", "ccg"):
        levels = MECHANISM.counterparts[party]
        assert [c.level for c in levels] == [1, 2, 3, 4]
        for counterpart in levels:
            assert set(PACK.languages) <= set(counterpart.title) and counterpart.duty_roles
            assert counterpart.channel == "hotline" and counterpart.ack_deadline_ms > 0
    assert "11th Regional" in MECHANISM.counterpart("jcg", 2).unit["en"]
    assert "East China Sea Bureau" in MECHANISM.counterpart("ccg", 2).unit["en"]
    assert [step.level for step in MECHANISM.ladder] == [1, 2, 3, 4]
    assert [step.notify_level for step in MECHANISM.ladder] == [1, 2, 3, 4]
    assert MECHANISM.ladder[0].template == BY_KIND
    assert MECHANISM.ladder[0].message_kind == "notification"
    assert MECHANISM.ladder[1].message_kind == "escalation"
    assert MECHANISM.open_level == 2
    assert MECHANISM.correlation_window_ms == 30 * 60_000
    assert MECHANISM.involving == ("fleet", "flag")
    assert MECHANISM.document == "mechanism/ecs-mechanism/v1"


def test_every_incident_kind_but_screening_has_a_notice_template() -> None:
    assert set(MECHANISM.notices) == set(KINDS) - {"data_quality"}
    for kind, template in MECHANISM.notices.items():
        assert BOOK.templates[template].kind == kind
    for template, params in MECHANISM.template_params.items():
        assert BOOK.templates[template].params == params


def test_deadlines_default_to_the_counterparts() -> None:
    assert MECHANISM.deadline_ms(1, "ccg") == 15 * 60_000
    assert MECHANISM.deadline_ms(2, "ccg") == 30 * 60_000
    assert MECHANISM.deadline_ms(4, "jcg") == 120 * 60_000
    assert MECHANISM.template_for(1, "zone_entry") == "incident.zone_entry"
    assert MECHANISM.template_for(1, "data_quality") is None
    assert MECHANISM.template_for(3, "zone_entry") == "request.acknowledge"


def test_hash_is_stable_and_covers_meaning_not_comments_or_units() -> None:
    again = parse(TEXT)
    assert again.sha256 == MECHANISM.sha256 and again.canonical == MECHANISM.canonical
    assert re.fullmatch(r"[0-9a-f]{64}", MECHANISM.sha256)
    same = parse("# a comment\n" + TEXT.replace("ack_deadline: 15 min", "ack_deadline: 900 s"))
    assert same.sha256 == MECHANISM.sha256
    changed = parse(TEXT.replace("ack_deadline: 15 min", "ack_deadline: 20 min", 1))
    assert changed.sha256 != MECHANISM.sha256
    assert MECHANISM.as_json()["ladder"][1] == {
        "level": 2,
        "notify": 2,
        "template": "request.acknowledge",
    }


# --- located errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        # a missing counterpart level (ccg's level 3 renumbered away)
        ("      title: {en: National headquarters, ja: 本局, zh: 总局}", None, "counterparts.ccg"),
        ("template: request.acknowledge", "template: request.nothing", "ladder[1].template"),
        ("closing: information.incident_closed", "closing: closing.nope", "closing"),
        ("zone_entry: incident.zone_entry", "zone_entry: incident.loitering", "notices.zone_entry"),
        ("ack_deadline: 15 min", "ack_deadline: soon", "counterparts.jcg[0].ack_deadline"),
        ("ack_deadline: 15 min", "ack_deadline: 0 s", "counterparts.jcg[0].ack_deadline"),
        ("ack_deadline: 15 min", "ack_deadline: 15 nm", "counterparts.jcg[0].ack_deadline"),
        ("ack_deadline: 15 min", "ack_deadline: 30 days", "counterparts.jcg[0].ack_deadline"),
        ("  - level: 3\n    notify: 3", "  - level: 5\n    notify: 3", "ladder[2].level"),
        ("  - level: 4\n    notify: 4", "  - level: 4\n    notify: 5", "ladder[3].notify"),
        (
            "duty_roles: [operations centre duty officer]",
            "duty_roles: [operations centre +81 98 000 0000]",
            "counterparts.jcg[1].duty_roles[0]",
        ),
        (
            "duty_roles: [command centre duty officer]",
            "duty_roles: [duty@example.org]",
            "counterparts.ccg[1].duty_roles[0]",
        ),
        ("  involving: [fleet, flag]", "  involving: [fleet, colour]", "notify.involving[1]"),
        ("  open_level: 2", "  open_level: 7", "incidents.open_level"),
        ("  ccg:\n", "  kcg:\n", "counterparts"),
        ("      channel: hotline\n", "      channel: Hot Line\n", "counterparts.jcg[0].channel"),
        ("  version: 1\n", "  version: 1\n  colour: blue\n", "mechanism"),
    ],
)
def test_bad_fields_are_located(old: str, new: str | None, where: str) -> None:
    if new is None:  # drop ccg's level 3 block: level 4 then sits in 3rd place
        start = TEXT.index(old, TEXT.index("  ccg:"))
        block_start = TEXT.rindex("    - level: 3", 0, start)
        block_end = TEXT.index("    - level: 4", start)
        text = TEXT[:block_start] + TEXT[block_end:]
    else:
        assert old in TEXT, old
        text = TEXT.replace(old, new, 1)
    with pytest.raises(PackError) as caught:
        parse(text)
    assert str(caught.value).startswith(f"mechanism.yaml: {where}:"), str(caught.value)


def test_missing_file_and_missing_ladder_are_refused() -> None:
    with pytest.raises(PackError, match="missing required key 'ladder'"):
        parse(TEXT[: TEXT.index("\nladder:")])
    with pytest.raises(PackError, match="invalid YAML"):
        parse("mechanism: [")
    with pytest.raises(PackError, match="given twice"):
        parse(TEXT + "\nclosing: information.incident_closed\n")
