"""The console in a real browser (issue 8): Debian's Chromium, driven by Playwright, against the
two-node demo (JCG and CCG federated over mutual TLS, fed ecs-mini on a replay clock).

Log in, see vessels, zones and a disputed feature's names on the map, open an incident, send a
hotline message from JCG, see it arrive in CCG's console, acknowledge it there and see the
acknowledgement in JCG's, switch to Japanese and Chinese. Every request the pages make is
recorded: one to a host other than this machine fails the test that made it (and the last
test checks them all). Screenshots go to ``test-artifacts/browser/``.

Without Chromium (or when Playwright cannot start it) the module is skipped, saying so.
Waits are Playwright's bounded auto-waits; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import (
    ARTIFACTS,
    CHROMIUM_ENV,
    CONSOLE,
    DemoConsoles,
    RequestLog,
    chromium_executable,
    strings,
)
from playwright.sync_api import Browser, Error, Locator, Page, expect, sync_playwright

# One demo and one browser for the module: with `pytest -n 2 --dist loadgroup` xdist keeps
# these tests on one worker (with plain `-n` each worker that gets some starts its own).
pytestmark = [pytest.mark.slow, pytest.mark.network, pytest.mark.xdist_group("browser")]

EN, JA, ZH = strings("en"), strings("ja"), strings("zh")
PACK = CONSOLE.parents[1] / "data" / "packs" / "ecs"
DISPUTED = "uotsuri"  # Uotsuri-shima / Diaoyu Dao / Diaoyutai: names in all three languages
VESSEL = "413999101"  # HAIAN PATROL 101, a scripted CCG vessel of ecs-mini
SEEN_S = 30  # the replayed traffic reaches the consoles within this (wall seconds)
INCIDENT_S = 45  # ecs-mini's first incidents open some 8 replayed minutes in (8 s at 60x)
DELIVERY_S = 30  # a hotline entry (or its ack) crosses to the peer's console within this


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_executable()
    if path is None:
        pytest.skip(
            "the console's browser tests need Debian's chromium (apt-get install chromium; "
            f".ci/run installs it), or its path in ${CHROMIUM_ENV}: not found"
        )
    if not (CONSOLE / "vendor" / "maplibre-gl").is_dir():
        pytest.skip("the console's vendor files are missing: run `make setup` (needs npm)")
    return path


@pytest.fixture(scope="module")
def demo(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoConsoles]:
    demo = DemoConsoles(tmp_path_factory.mktemp("browser") / "demo")
    demo.start()  # the nodes open while the browser starts
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def browser(chromium: str, demo: DemoConsoles) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        except Error as exc:
            pytest.skip(f"Playwright could not start {chromium}: {exc.message.splitlines()[0]}")
        expect.set_options(timeout=20_000)  # bounded, and patient with a busy 2-core machine
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def requests_seen() -> RequestLog:
    return RequestLog()


@pytest.fixture(autouse=True)
def _only_this_machine(requests_seen: RequestLog) -> Iterator[None]:
    """Each test fails (at teardown) naming any request of its own to another host."""
    start = len(requests_seen.urls)
    yield
    if foreign := requests_seen.foreign(start):
        pytest.fail("the console asked other hosts than 127.0.0.1:\n" + "\n".join(foreign))


def _new_page(browser: Browser, requests_seen: RequestLog) -> Page:
    # Reduced motion: open events keep a steady ring instead of repainting the map every frame
    # (two software-rendered maps animating would take a CPU of their own).
    context = browser.new_context(
        viewport={"width": 1200, "height": 720}, locale="en-US", reduced_motion="reduce"
    )
    context.set_default_timeout(15_000)
    requests_seen.record(context)
    return context.new_page()


@pytest.fixture(scope="module")
def consoles(browser: Browser, demo: DemoConsoles, requests_seen: RequestLog) -> dict[str, Page]:
    """Both consoles, opened (one browser context each)."""
    pages: dict[str, Page] = {}
    for party, login in demo.wait_ready().items():
        pages[party] = page = _new_page(browser, requests_seen)
        # CCG's console is needed for its hotline only: opened on that view, its map never
        # gets a size, so it costs no rendering (the feed moves hundreds of vessels a second).
        page.goto(login.url + ("#hotline" if party == "ccg" else ""))
    return pages


@pytest.fixture
def jcg(consoles: dict[str, Page], demo: DemoConsoles) -> Page:
    """JCG's console, logged in as its operator."""
    return _signed_in(consoles["jcg"], demo, "jcg")


@pytest.fixture
def ccg(consoles: dict[str, Page], demo: DemoConsoles) -> Page:
    """CCG's console, logged in as its operator."""
    return _signed_in(consoles["ccg"], demo, "ccg")


def _signed_in(page: Page, demo: DemoConsoles, party: str) -> Page:
    """``page`` logged in (again, when a test logged out): the login form or the user shows."""
    login = demo.logins[party]
    page.wait_for_function(
        "() => document.querySelector('#login').open"
        " || document.querySelector('#user-name').textContent !== ''",
        polling=100,
    )
    if page.locator("#login").is_visible():
        _sign_in(page, login.url, login.user, login.password)
    expect(page.locator("#user-name")).to_have_text(f"{login.user} (operator)")
    return page


def _sign_in(page: Page, url: str, user: str, password: str) -> None:
    if not page.url.startswith(url):
        page.goto(url)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#login-username", user)
    page.fill("#login-password", password)
    page.locator("#login-form button[type=submit]").click()


def _shot(page: Page, name: str, *, showing: Locator | None = None) -> Path:
    """A screenshot in the artifacts folder, scrolled to ``showing`` when it holds still (the
    live lists re-render on every update: a miss only changes the picture)."""
    if showing is not None:
        with contextlib.suppress(Error):
            showing.scroll_into_view_if_needed(timeout=2000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


def _tab(page: Page, view: str) -> None:
    page.locator(f"#tab-{view}").click()
    expect(page.locator(f"#view-{view}")).to_be_visible()


# --- the flows -------------------------------------------------------------------------------


def test_login_refuses_a_bad_password_and_opens_the_console(jcg: Page, demo: DemoConsoles) -> None:
    login = demo.logins["jcg"]
    jcg.locator("#logout").click()
    expect(jcg.locator("#login")).to_be_visible()
    _sign_in(jcg, login.url, login.user, login.password + "-wrong")
    expect(jcg.locator("#login-message")).to_have_text(EN["login.failed"])
    expect(jcg.locator("#login")).to_be_visible()
    _shot(jcg, "login-refused")
    _sign_in(jcg, login.url, login.user, login.password)
    expect(jcg.locator("#login")).to_be_hidden()
    expect(jcg.locator("#user-name")).to_have_text(f"{login.user} (operator)")
    expect(jcg.locator("#node-party")).to_have_text(EN["party.jcg"])
    expect(jcg.locator("#live-state")).to_have_text(EN["live.connected"])
    _shot(jcg, "login-console")


def test_the_map_shows_vessels_zones_and_every_name_of_a_disputed_feature(jcg: Page) -> None:
    _tab(jcg, "map")
    jcg.wait_for_function(
        """() => {
            const map = window.seabridge.map();
            return !!map && !!map.getLayer("vessels")
                && map.queryRenderedFeatures({ layers: ["vessels"] }).length > 0
                && map.queryRenderedFeatures({ layers: ["zone-fill"] }).length > 0;
        }""",
        polling=250,
        timeout=SEEN_S * 1000,
    )
    drawn: list[dict[str, Any]] = jcg.evaluate(
        """() => window.seabridge.map().queryRenderedFeatures({ layers: ["vessels"] })
                   .map((f) => f.properties)"""
    )
    assert len({row["mmsi"] for row in drawn}) > 10, drawn[:3]
    zone = _pack_names("zones", "jp-cn-2008-joint-development-block")["en"]
    expect(jcg.locator(".map-label.zone-label").filter(has_text=zone)).to_have_count(1)
    names = _pack_names("features", DISPUTED)
    label = jcg.locator(".map-label.feature-label.disputed").filter(has_text=names["ja"])
    expect(label).to_be_visible()
    text = label.inner_text()
    for lang in ("en", "ja", "zh"):
        for name in names[lang].split(" / "):
            assert name in text, (lang, name, text)
    _shot(jcg, "map")


def test_a_selected_vessel_shows_its_name_and_party(jcg: Page) -> None:
    _tab(jcg, "map")
    jcg.wait_for_function(
        "(mmsi) => window.seabridge.map()?.querySourceFeatures('vessels')"
        ".some((f) => f.properties.mmsi === mmsi)",
        arg=int(VESSEL),
        polling=250,
        timeout=SEEN_S * 1000,
    )
    # Live positions carry the static fields too (name, ship_type, flag, party: the node's
    # VesselStatics), so the name comes without asking /api/vessels again: the panel follows
    # the live feed. The scenario's static reports arrive every 6 replayed minutes, which on
    # a loaded machine (the replay waits for the ingest) can take longer than SEEN_S: first
    # wait (page-side, with the page's session) until the node itself knows the name.
    jcg.wait_for_function(
        """async (mmsi) => {
            const r = await fetch("/api/vessels");
            const fc = await r.json();
            return fc.features.some((f) => f.properties.mmsi === mmsi && f.properties.name);
        }""",
        arg=int(VESSEL),
        polling=1000,
        timeout=4 * SEEN_S * 1000,
    )
    jcg.evaluate("(mmsi) => window.seabridge.selectVessel(mmsi)", int(VESSEL))
    panel = jcg.locator("#vessel-panel")
    try:
        expect(panel).to_be_visible()
        expect(panel).to_contain_text(VESSEL)
        expect(panel.locator("h2")).to_have_text("HAIAN PATROL 101", timeout=SEEN_S * 1000)
        _shot(jcg, "map-vessel")
        expect(panel.locator(".party-chip")).to_have_text(EN["party.ccg"])
    finally:
        jcg.evaluate("() => window.seabridge.selectVessel(null)")
    expect(panel).to_be_hidden()


def test_a_live_position_carries_the_vessels_name_and_party(jcg: Page) -> None:
    """A websocket of the browser's own (its session cookie, its origin) sees what the map
    gets: each position feature has the properties of an /api/vessels feature."""
    got: dict[str, Any] = jcg.evaluate(
        """([mmsi, timeoutMs]) => new Promise((resolve, reject) => {
            const scheme = location.protocol === "https:" ? "wss" : "ws";
            const ws = new WebSocket(`${scheme}://${location.host}/api/ws`);
            const timer = setTimeout(() => { ws.close(); reject(new Error("no position")); },
                                     timeoutMs);
            ws.onerror = () => { clearTimeout(timer); reject(new Error("websocket error")); };
            ws.onmessage = (e) => {
                const m = JSON.parse(e.data);
                if (m.topic !== "positions") return;
                const f = m.data.features.find((x) => x.properties.mmsi === mmsi);
                if (!f?.properties.name) return;
                clearTimeout(timer);
                ws.close();
                resolve(f.properties);
            };
        })""",
        [int(VESSEL), SEEN_S * 1000],
    )
    assert (got["name"], got["party"], got["flag"]) == ("HAIAN PATROL 101", "ccg", "CN")
    assert {"ship_type", "sog_kn", "cog_deg", "heading_deg", "nav_status", "ts"} <= set(got)


def test_an_incident_opens_with_its_timeline(jcg: Page) -> None:
    _tab(jcg, "incidents")
    jcg.select_option("#filter-status", "")  # all: an early incident may be resolved by now
    rows = jcg.locator("#incident-list tr[tabindex]")
    expect(rows.first).to_be_visible(timeout=INCIDENT_S * 1000)
    rows.first.click()
    title = jcg.locator("#incident-detail #incident-title")
    pattern = re.escape(EN["incident.title"]).replace(re.escape("{id}"), r"jcg-\d+")
    expect(title).to_have_text(re.compile(f"^{pattern}$"))
    expect(jcg.locator("#incident-detail .timeline li").first).to_be_visible()
    expect(jcg.locator("#incident-detail")).to_contain_text(EN["incident.timeline"])
    _shot(jcg, "incident")


def test_a_hotline_message_reaches_the_peer_console_and_its_ack_comes_back(
    jcg: Page, ccg: Page
) -> None:
    note = f"browser test {uuid.uuid4().hex[:8]}"
    _tab(jcg, "hotline")
    form = jcg.locator("#hotline-compose form")
    expect(form).to_contain_text(EN["compose.send"])
    jcg.select_option("#hl-template", "question.intentions")
    jcg.fill("#hl-p-vessel", VESSEL)
    jcg.fill("#hl-text", note)
    # No deadline: the demo's CCG bot acknowledges only messages that carry one, so the
    # acknowledgement below is the operator's.
    expect(jcg.locator("#hl-deadline")).to_have_value("0")
    form.locator("button[type=submit]").click()
    expect(form.locator(".form-status")).to_have_text(EN["form.done"])
    sent = jcg.locator("#hotline-list li.msg.outgoing").filter(has_text=note)
    expect(sent).to_contain_text(f"QUESTION. What are the intentions of your vessel {VESSEL}?")
    _shot(jcg, "hotline-sent")

    _tab(ccg, "hotline")
    arrived = ccg.locator("#hotline-list li.msg.incoming").filter(has_text=note)
    expect(arrived).to_be_visible(timeout=DELIVERY_S * 1000)
    expect(arrived).to_contain_text(VESSEL)
    _chip(arrived, "hotline.not_acknowledged", ok=False)
    _shot(ccg, "hotline-arrived", showing=arrived)
    arrived.get_by_role("button", name=EN["hotline.ack"]).click()
    _chip(arrived, "hotline.acknowledged")
    _shot(ccg, "hotline-acknowledged", showing=arrived)

    _chip(sent, "hotline.receipted")
    _chip(sent, "hotline.acknowledged", timeout_s=DELIVERY_S)
    _shot(jcg, "hotline-ack-seen", showing=sent)


def test_only_messages_that_ask_for_it_offer_an_acknowledgement(jcg: Page) -> None:
    _tab(jcg, "hotline")
    # The demo's CCG bot acknowledges JCG's incident notifications (all but the first).
    acks = jcg.locator("#hotline-list li.msg.incoming").filter(
        has=jcg.locator(".msg-head", has_text=re.compile(r"· ack · #\d+"))
    )
    expect(acks.first).to_be_visible(timeout=INCIDENT_S * 1000)
    _shot(jcg, "hotline-incoming-ack", showing=acks.first)
    expect(acks.get_by_role("button", name=EN["hotline.ack"])).to_have_count(0)


def _chip(message: Locator, key: str, *, ok: bool = True, timeout_s: float = 15) -> None:
    """``message`` shows the delivery-state chip ``key`` (some carry a time after the text)."""
    chips = message.locator("li.chip.ok" if ok else "li.chip.wait")
    chip = chips.filter(has_text=re.compile(rf"^{re.escape(EN[key])}(\s|$)"))
    expect(chip).to_be_visible(timeout=timeout_s * 1000)


@pytest.mark.parametrize(
    ("lang", "html_lang", "font"),
    [("ja", "ja", "Noto Sans JP"), ("zh", "zh-Hans", "Noto Sans SC")],
)
def test_the_console_speaks_japanese_and_chinese(
    jcg: Page, lang: str, html_lang: str, font: str
) -> None:
    text = strings(lang)
    _tab(jcg, "map")
    try:
        jcg.select_option("#lang-select", lang)
        expect(jcg.locator("html")).to_have_attribute("lang", html_lang)
        for selector, key in (
            ("#tab-map", "nav.map"),
            ("#tab-incidents span[data-i18n]", "nav.incidents"),
            ("#tab-hotline span[data-i18n]", "nav.hotline"),
            ("#logout", "nav.logout"),
            (".legend h2", "legend.title"),
        ):
            expect(jcg.locator(selector)).to_have_text(text[key])
        assert text["nav.map"] != EN["nav.map"]
        expect(jcg.locator("#hotline-compose h3")).to_contain_text(text["party.ccg"])
        # The CJK face comes from this node (vendor/fonts) and covers the strings shown.
        faces = jcg.evaluate(
            'async ([font, sample]) => (await document.fonts.load(`16px "${font}"`, sample))'
            ".map((face) => face.status)",
            [font, text["nav.hotline"] + text["legend.title"]],
        )
        assert faces and set(faces) == {"loaded"}, faces
        _shot(jcg, f"lang-{lang}")
    finally:
        jcg.select_option("#lang-select", "en")
        expect(jcg.locator("html")).to_have_attribute("lang", "en")


def test_every_request_went_to_this_machine(
    consoles: dict[str, Page], requests_seen: RequestLog
) -> None:
    urls = requests_seen.urls
    assert any("/api/me" in url for url in urls) and any("/vendor/" in url for url in urls)
    assert any(url.startswith("ws://") and "/api/ws" in url for url in urls)
    foreign = requests_seen.foreign()
    assert not foreign, "the console asked other hosts than 127.0.0.1:\n" + "\n".join(foreign)


def _pack_names(layer: str, feature_id: str) -> dict[str, str]:
    """The names of a zone or feature in the pack's GeoJSON (the source the node serves)."""
    data = json.loads((PACK / f"{layer}.geojson").read_text("utf-8"))
    for feature in data["features"]:
        if feature["properties"]["id"] == feature_id:
            names: dict[str, str] = feature["properties"]["names"]
            return names
    raise AssertionError(f"{feature_id} not in the ecs pack's {layer}")
