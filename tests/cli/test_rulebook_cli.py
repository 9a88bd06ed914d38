"""``seabridge rulebook show|validate|hash`` on the built-in standard and on files, and the
generated rule-kind reference page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.cli._docs import generated_pages
from seabridge.detect import KINDS, load_rulebook
from seabridge.geo import load_zones
from seabridge.packs import load_pack, load_parties

runner = CliRunner()
PACK = load_pack("ecs")
ZONES = load_zones(PACK)
STANDARD = load_rulebook(None, PACK, zone_ids=ZONES.ids, parties=load_parties(PACK))


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_hash_prints_the_sha256_of_the_canonical_form() -> None:
    assert _run("rulebook", "hash", "ecs-standard").strip() == STANDARD.sha256
    assert _run("rulebook", "hash").strip() == STANDARD.sha256  # the pack's default
    assert json.loads(_run("rulebook", "hash", "--json")) == {
        "id": "ecs-standard",
        "version": 1,
        "sha256": STANDARD.sha256,
    }


def test_show_lists_every_rule_and_show_json_is_the_canonical_form() -> None:
    text = _run("rulebook", "show", "ecs-standard")
    assert f"ecs-standard version 1: {STANDARD.title}" in text
    assert STANDARD.sha256 in text
    for entry in STANDARD.rules:
        assert entry.id in text
    document = json.loads(_run("rulebook", "show", "--json"))
    assert document["sha256"] == STANDARD.sha256
    assert document["rulebook"] == json.loads(STANDARD.canonical)


def test_validate(tmp_path: Path) -> None:
    text = _run("rulebook", "validate", "--pack", "ecs", "ecs-standard")
    assert text.startswith(f"valid: ecs-standard version 1, {len(STANDARD.rules)} rules")
    summary = json.loads(_run("rulebook", "validate", "--json"))
    assert summary == {
        "valid": True,
        "id": "ecs-standard",
        "version": 1,
        "rules": len(STANDARD.rules),
        "sha256": STANDARD.sha256,
    }
    copy = tmp_path / "copy.yaml"
    copy.write_text(Path(STANDARD.source).read_text(encoding="utf-8"), encoding="utf-8")
    assert _run("rulebook", "hash", str(copy)).strip() == STANDARD.sha256


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("threshold: 0.5 nm", "threshold: 7 nm", r"threshold: 7 nm is above the maximum 5 nm"),
        ("kind: close_quarters", "kind: near_miss", r"kind: unknown rule kind 'near_miss'"),
        ("zones: [chunxiao-safety-zone]", "zones: [atlantis]", r"unknown zone 'atlantis'"),
        ("fleets: [jcg, ccg]", "fleets: [jcg, navy]", r"unknown party 'navy'"),
        (
            "    applies:\n      zones: [chunxiao-safety-zone]\n    level: 2\n",
            "    level: 2\n",
            r"rules\[\d+\]: rule 'safety-zone-entry' \(zone_entry\): list the zones",
        ),
    ],
)  # fmt: skip
def test_an_invalid_file_exits_2_naming_file_and_field(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    text = Path(STANDARD.source).read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    for command in ("show", "validate", "hash"):
        result = runner.invoke(app, ["rulebook", command, str(broken)])
        assert result.exit_code == 2, result.output
        message = _one_line(result.stderr)
        assert message.startswith(f"error: {broken}: ")
        assert re.search(needle, message), message


def test_unknown_names_exit_2() -> None:
    result = runner.invoke(app, ["rulebook", "show", "strict"])
    assert result.exit_code == 2
    assert "no rulebook 'strict' in pack ecs (its rulebooks: ecs-standard" in _one_line(
        result.stderr
    )
    result = runner.invoke(app, ["rulebook", "hash", "--pack", "atlantis"])
    assert result.exit_code == 2 and "no built-in pack 'atlantis'" in result.stderr


def test_rules_page_lists_every_kind_and_parameter() -> None:
    page = generated_pages()["rules.md"]
    for kind, cls in KINDS.items():
        assert f"\n## {kind}\n" in page
        for spec in cls.PARAMS:
            assert f"| `{spec.name}` | {spec.unit} |" in page
        for metric in cls.METRICS:
            assert f"`{metric}`" in page
