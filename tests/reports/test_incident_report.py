"""``seabridge report incident``: the joint incident report of a real two-node incident.

The incident, its hotline thread, events and tracks are made by the real code
(``report_incident_kit``); the numbers are checked against hand-computed values, a proof
printed in the report is checked with the real ``seabridge ledger verify-proof``, and the PDF
text with pdftotext (skipped, saying so, without Chromium or poppler-utils).
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_incident_kit import SECRET, SHIP_A, SHIP_B, Story, make_story
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.geo import all_names, load_features
from seabridge.packs import load_pack
from seabridge.reports import find_chromium
from seabridge.reports.incident_text import STRINGS
from seabridge.units import ms_to_iso

runner = CliRunner()
TITLES = {"en": "Incident report", "ja": "インシデント報告", "zh": "事件报告"}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return make_story(tmp_path_factory.mktemp("nodes"))


def _report(story: Story, out: Path, *options: str) -> None:
    result = runner.invoke(
        app,
        ["report", "incident", story.incident_id, "--node", str(story.jcg.dir.root),
         "--out", str(out), *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def html_report(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    _report(story, out, "--no-pdf")
    return out


def _data(out: Path, story: Story) -> dict[str, object]:
    value = json.loads((out / f"incident-{story.incident_id}.json").read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


def test_the_numbers_are_the_hand_computed_ones(story: Story, html_report: Path) -> None:
    data = _data(html_report, story)
    metrics = data["metrics"]
    assert isinstance(metrics, dict)
    expected = story.expected
    assert metrics["cpa"]["cpa_m"]["value"] == expected.cpa_m  # the update, not the open
    assert metrics["cpa"]["tcpa_s"]["value"] == expected.tcpa_s
    (closest,) = metrics["closest_approach"]
    assert closest["distance_m"]["value"] == pytest.approx(expected.closest_m, abs=0.01)
    assert closest["at"] == ms_to_iso(expected.closest_at_ms)
    where = {SHIP_A: [25.74, 123.47], SHIP_B: [25.74, 123.48]}
    assert closest["positions"] == [where[mmsi] for mmsi in closest["vessels"]]
    assert metrics["time_to_first_ack_s"]["value"] == expected.first_ack_s
    assert metrics["time_to_resolution_s"]["value"] == expected.resolution_s
    assert metrics["levels_reached"]["value"] == list(expected.levels)
    assert metrics["escalations"]["value"] == 0
    queries = data["queries"]
    assert isinstance(queries, dict)
    for name, metric in metrics.items():  # every number names the query it comes from
        sources = re.findall(r"'source': '([a-z_0-9]+)'", str(metric))
        assert sources and all(source in queries for source in sources), name


def test_the_report_shows_the_thread_and_never_an_internal_note(
    story: Story, html_report: Path
) -> None:
    data = _data(html_report, story)
    hotline = data["hotline"]
    assert isinstance(hotline, list)
    assert [(h["origin"], h["seq"], h["kind"]) for h in hotline] == [
        ("jcg/hotline/ccg", 0, "notification"),
        ("ccg/hotline/jcg", 0, "ack"),
    ]
    assert all(h["signer"] == h["origin"].rsplit("/", 1)[0] and h["proof"] for h in hotline)
    assert hotline[0]["acknowledged"] is True and hotline[0]["receipted"]
    assert str(hotline[0]["text_en"]).startswith("WARNING. Close-quarters situation.")
    assert data["internal_notes_withheld"] == 1
    page = (html_report / f"incident-{story.incident_id}.html").read_text(encoding="utf-8")
    for folder in (html_report,):
        for path in folder.iterdir():
            assert SECRET not in path.read_text(encoding="utf-8"), path.name
    assert "resolve: acknowledged -&gt; resolved (vessels apart)" in page
    uotsuri = next(
        f for f in load_features(load_pack("ecs")) if f.names["en"].startswith("Uotsuri")
    )
    assert html.escape(all_names(uotsuri.names)) in page  # every name of a disputed feature


def test_a_proof_printed_in_the_report_verifies_and_a_mutated_one_fails(
    story: Story, html_report: Path, tmp_path: Path
) -> None:
    page = (html_report / f"incident-{story.incident_id}.html").read_text(encoding="utf-8")
    printed = re.findall(r'<pre class="proof" data-proof="([^"]+)">(.*?)</pre>', page, re.S)
    assert [name for name, _ in printed] == [
        "proof-jcg_hotline_ccg-0.json",
        "proof-ccg_hotline_jcg-0.json",
    ]
    for name, text in printed:
        proof = tmp_path / name
        proof.write_text(html.unescape(text), encoding="utf-8")
        assert proof.read_text(encoding="utf-8") == (html_report / name).read_text("utf-8")
        checked = runner.invoke(app, ["ledger", "verify-proof", str(proof), "--json"])
        assert checked.exit_code == 0, checked.output
        verdict = json.loads(checked.stdout)
        assert verdict["ok"] and verdict["cosigned"]
        origin, seq = verdict["origin"], verdict["seq"]
        proved = runner.invoke(
            app,
            ["ledger", "prove", "--node", str(story.jcg.dir.root), "--origin", origin,
             "--seq", str(seq)],
        )  # fmt: skip
        assert proved.exit_code == 0 and proved.stdout == proof.read_text(encoding="utf-8")
    original = json.loads((tmp_path / printed[0][0]).read_text(encoding="utf-8"))
    entry = base64.b64decode(original["entry"]).replace(b"situation", b"SITUATION")
    tampered = {**original, "entry": base64.b64encode(entry).decode()}  # the text changed
    longer = {
        **original,
        "inclusion": [*original["inclusion"], base64.b64encode(bytes(32)).decode()],
    }
    for number, value in enumerate((tampered, longer)):
        mutated = tmp_path / f"mutated-{number}.json"
        mutated.write_text(json.dumps(value), encoding="utf-8")
        failed = runner.invoke(app, ["ledger", "verify-proof", str(mutated)])
        assert failed.exit_code == 1 and "FAILED" in failed.stdout, failed.output


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_the_title_and_headings_are_in_each_language(
    story: Story, tmp_path: Path, lang: str
) -> None:
    _report(story, tmp_path, "--no-pdf", "--lang", lang)
    page = (tmp_path / f"incident-{story.incident_id}.html").read_text(encoding="utf-8")
    title = f"{TITLES[lang]} {story.incident_id}"
    assert f"<title>{title}</title>" in page and f'<html lang="{lang}">' in page
    for key in ("timeline", "hotline", "events", "cpa", "first_ack"):
        assert html.escape(STRINGS[lang][key]) in page, key


def test_every_string_is_translated() -> None:
    keys = set(STRINGS["en"])
    for lang in ("ja", "zh"):
        assert set(STRINGS[lang]) == keys
        assert all(text.strip() for text in STRINGS[lang].values())


def test_the_same_inputs_give_the_same_files(
    story: Story, html_report: Path, tmp_path: Path
) -> None:
    _report(story, tmp_path, "--no-pdf")
    for path in html_report.iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_an_unknown_incident_or_language_is_bad_input(story: Story, tmp_path: Path) -> None:
    node = str(story.jcg.dir.root)
    unknown = runner.invoke(app, ["report", "incident", "jcg-999999", "--node", node])
    assert unknown.exit_code == 2 and "no incident 'jcg-999999'" in unknown.stderr
    bad = runner.invoke(app, ["report", "incident", story.incident_id, "--node", node,
                              "--lang", "fr", "--out", str(tmp_path)])  # fmt: skip
    assert bad.exit_code == 2 and "--lang fr" in bad.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_the_pdf_renders_and_its_text_holds_the_headline_numbers(
    story: Story, tmp_path: Path
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium to print the PDF (apt-get install chromium)")
    if shutil.which("pdftotext") is None:
        pytest.skip("no pdftotext to read the PDF (apt-get install poppler-utils)")
    _report(story, tmp_path, "--lang", "ja")
    pdf = tmp_path / f"incident-{story.incident_id}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    expected = story.expected
    for number in (
        "180 m (0.10 nm)",  # predicted CPA
        "4 min 00 s",  # TCPA
        f"{expected.closest_m:,.0f} m",  # closest approach in the tracks
        "1 min 30 s",  # time to first acknowledgement
        "31 min 30 s",  # time to resolution
        TITLES["ja"],
    ):
        assert number in text, number


def test_the_predicted_cpa_is_headlined_only_for_a_close_quarters_incident(story: Story) -> None:
    """Other incidents (zone entries, gaps, shadowing) have no predicted CPA: the headline
    leaves it out instead of printing "n/a"."""
    import dataclasses
    from contextlib import closing

    from seabridge.reports.incident import _headline
    from seabridge.reports.incident_data import connect_readonly, gather
    from seabridge.reports.incident_text import strings

    with closing(connect_readonly(story.jcg.dir.state)) as conn:
        data = gather(conn, story.incident_id, "jcg")
    text = strings("en")
    assert data.metrics["cpa"] is not None  # the story's incident is close quarters
    labels = [row["label"] for row in _headline(data, text)]
    assert labels[:2] == [text["cpa"], text["tcpa"]]
    other = dataclasses.replace(data, metrics={**data.metrics, "cpa": None})
    labels = [row["label"] for row in _headline(other, text)]
    assert text["cpa"] not in labels and text["tcpa"] not in labels
    assert labels[0] == text["closest"]
