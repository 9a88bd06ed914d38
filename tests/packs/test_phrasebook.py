"""The hotline phrasebook: the built-in one covers every SMCP marker and every detection rule
kind in en, ja and zh with the same placeholders, and rendering refuses what does not fit."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from pack_builders import copy_ecs, replace_in

from seabridge.detect import KINDS
from seabridge.errors import InputError, PackError
from seabridge.packs import load_pack
from seabridge.packs.phrasebook import MARKERS, load_phrasebook

PACK = load_pack("ecs")
BOOK = load_phrasebook(PACK)
# The kinds issue 6 names; the screening rule (data_quality) raises no incident.
INCIDENT_KINDS = (
    "close_quarters",
    "zone_entry",
    "loitering",
    "ais_gap",
    "encounter",
    "shadowing",
    "speed_in_zone",
)
FEATURE = "Uotsuri-shima / Diaoyu Dao / Diaoyutai / 魚釣島 / 钓鱼岛"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_template_has_en_ja_zh_with_its_params_as_placeholders() -> None:
    assert PACK.languages == ("en", "ja", "zh")
    assert len(BOOK.templates) >= len(MARKERS) + len(INCIDENT_KINDS) - 2
    for template in BOOK.templates.values():
        assert set(template.text) == {"en", "ja", "zh"}, template.id
        for language, text in template.text.items():
            assert _fields(text) == set(template.params), (template.id, language)


def test_every_marker_and_every_incident_kind_has_a_template() -> None:
    assert set(INCIDENT_KINDS) <= set(KINDS)  # the kinds are the detector's
    for marker in MARKERS:
        assert BOOK.for_marker(marker), marker
    for kind in INCIDENT_KINDS:
        assert BOOK.for_kind(kind), kind
    assert {t.kind for t in BOOK.templates.values() if t.kind} <= set(KINDS)


def test_each_text_opens_with_its_marker_in_its_language() -> None:
    """SMCP: the marker is said first; ja and zh carry the marker's word in brackets."""
    for template in BOOK.templates.values():
        assert template.text["en"].startswith(f"{template.marker}. "), template.id
        for language in ("ja", "zh"):
            word = BOOK.markers[template.marker][language]
            assert template.text[language].startswith(f"【{word}】"), (template.id, language)


def test_japanese_and_chinese_texts_are_written_in_their_scripts() -> None:
    for template in BOOK.templates.values():
        ja = template.text["ja"]
        assert any("\u3040" <= char <= "\u30ff" for char in ja), template.id  # kana
        zh = template.text["zh"]
        assert not any("\u3040" <= char <= "\u30ff" for char in zh), template.id


def test_render_returns_the_language_text_and_the_english_text() -> None:
    params = {
        "vessel": "HAIAN PATROL 9 (413999002)",
        "feature": FEATURE,
        "bearing_deg": "045",
        "distance_nm": "11.8",
        "time": "2026-05-01 03:20",
    }
    text, english = BOOK.render("information.position_from_feature", "zh", params)
    assert english == (
        "INFORMATION. At 2026-05-01 03:20 UTC, vessel HAIAN PATROL 9 (413999002) was at "
        f"bearing 045 degrees true, distance 11.8 nautical miles from {FEATURE}."
    )
    assert text.startswith("【信息】") and FEATURE in text and "11.8海里" in text
    same, english_again = BOOK.render("information.position_from_feature", "en", params)
    assert same == english == english_again


def test_render_takes_integers_and_leaves_braces_in_values_alone() -> None:
    text, _ = BOOK.render("intention.reduce_speed", "ja", {"unit": "{x}", "speed_kn": 6})
    assert text == "【意図】当方の{x}は、速力を6ノットに減ずる予定です。"


@pytest.mark.parametrize(
    ("template_id", "lang", "params", "message"),
    [
        ("no.such", "en", {}, "no template 'no.such'"),
        ("question.intentions", "ko", {"vessel": "A"}, "no language 'ko'"),
        ("question.intentions", "en", {}, "missing vessel"),
        ("question.intentions", "en", {"vessel": "A", "zone": "B"}, "unknown zone"),
        ("question.intentions", "en", {"vessel": 1.5}, "param vessel is float"),
        ("question.intentions", "en", {"vessel": True}, "param vessel is bool"),
    ],
)
def test_render_refuses(
    template_id: str, lang: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        BOOK.render(template_id, lang, params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "已收到消息{message}。",
            "已收到消息。",
            r"templates\[15\]\.text\.zh: placeholders differ",
        ),
        ("ja: 情報, zh: 信息", "ja: 情報", r"markers\.INFORMATION: missing zh"),
        ("marker: ADVICE", "marker: HINT", r"templates\[10\]\.marker: 'HINT' is not one of"),
        ("- id: question.message_received", "- id: question.intentions", "given twice"),
        ("{counterpart} about", "{counterpart!r} about", "must be a plain"),
        ('{speed_kn} knots."', '{speed_kn:.1f} knots."', "must be a plain"),
        ("  version: 1\n", "  version: 1\n  version: 2\n", "key 'version' is given twice"),
        ("params: [unit, speed_kn]", "params: [unit, speed_kn, unit]", "lists a param twice"),
        ("    kind: loitering\n", "    kind: loitering\n    kinds: x\n", "unknown key 'kinds'"),
    ],
)
def test_a_broken_phrasebook_names_the_file_and_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    pack_dir = copy_ecs(tmp_path)
    replace_in(pack_dir / "phrasebook.yaml", old, new)
    with pytest.raises(PackError, match=message) as caught:
        load_phrasebook(load_pack(pack_dir))
    assert "phrasebook.yaml" in str(caught.value)


def test_a_marker_without_template_is_refused(tmp_path: Path) -> None:
    pack_dir = copy_ecs(tmp_path)
    replace_in(pack_dir / "phrasebook.yaml", "marker: ADVICE", "marker: WARNING")
    with pytest.raises(PackError, match="no template for the marker ADVICE"):
        load_phrasebook(load_pack(pack_dir))
