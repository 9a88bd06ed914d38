"""The two-node demo's pieces: the work directory, the shared feed, the demo bot, the summary.

The whole demo over real sockets runs in ``tests/cli/test_demo_cli.py``.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from seabridge.clock import ManualClock, SystemClock
from seabridge.errors import InputError
from seabridge.hotline.ledger import Ledger
from seabridge.node import load_node, open_ledger
from seabridge.node.demo import (
    BOT_PREFIX,
    DemoBot,
    DemoClock,
    DemoPorts,
    FeedWriter,
    prepare,
    summarize,
)

DEADLINE_MS = 15 * 60_000


def _wall() -> ManualClock:
    return ManualClock(SystemClock().now_ms())  # certificates are checked against the wall


def test_ports_from_a_base_keep_the_default_layout() -> None:
    assert DemoPorts() == DemoPorts.from_base(8701)
    assert DemoPorts.from_base(20000).federation == (20010, 20011)
    with pytest.raises(InputError, match="ports-base"):
        DemoPorts.from_base(80)


def test_prepare_makes_two_nodes_that_know_each_other_and_private_logins(tmp_path: Path) -> None:
    setup = prepare(tmp_path / "demo", scenario="ecs-mini", speed=60, clock=_wall())
    jcg, ccg = (load_node(node.dir) for node in setup.nodes)
    assert (jcg.party, ccg.party) == ("jcg", "ccg")
    assert [p.party for p in jcg.peers] == ["ccg"] and [p.party for p in ccg.peers] == ["jcg"]
    assert (jcg.console_listen.port, ccg.console_listen.port) == (8701, 8702)
    assert (jcg.federation_listen.port, ccg.federation_listen.port) == (8711, 8712)
    assert stat.S_IMODE(setup.logins.stat().st_mode) == 0o600
    logins = setup.logins.read_text()
    for node in setup.nodes:
        assert node.user == f"{node.party}-duty" and node.password in logins
        assert node.console_url in logins
    assert setup.feed.exists() and setup.feed.stat().st_size == 0


def test_a_relative_work_directory_gives_nodes_that_find_the_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make demo` passes --workdir demo-out; a node resolves a relative source path against
    # its own directory, so the feed must be named absolutely (it was demo-out/jcg/demo-out/).
    monkeypatch.chdir(tmp_path)
    setup = prepare(Path("demo-out"), scenario="ecs-mini", clock=_wall())
    assert setup.workdir == tmp_path / "demo-out"
    assert setup.feed.is_absolute()
    assert all(node.dir.is_absolute() for node in setup.nodes)


def test_a_login_works_on_its_own_node_only(tmp_path: Path) -> None:
    from seabridge.node.users import UserStore

    setup = prepare(tmp_path / "demo", scenario="ecs-mini", clock=_wall())
    jcg = setup.node("jcg")
    with UserStore(jcg.dir / "state.sqlite", SystemClock(), load_node(jcg.dir).settings) as users:
        assert users.authenticate(jcg.user, jcg.password).role == "operator"
        assert [user.name for user in users.list()] == ["jcg-duty"]


def test_a_previous_demo_is_replaced_and_other_directories_are_refused(tmp_path: Path) -> None:
    first = prepare(tmp_path / "demo", clock=_wall())
    (first.workdir / "old.txt").write_text("")
    second = prepare(tmp_path / "demo", clock=_wall())
    assert not (second.workdir / "old.txt").exists()
    assert first.node("jcg").password != second.node("jcg").password
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        prepare(precious, clock=_wall())
    assert (precious / "keep.txt").read_text() == "keep me"
    with pytest.raises(InputError, match="speed"):
        prepare(tmp_path / "other", speed=0)


def test_the_demo_clock_is_held_until_started_then_runs_at_its_speed() -> None:
    wall = ManualClock(1_000_000)
    clock = DemoClock(5_000, 60, wall)
    wall.advance(30)
    assert clock.now_ms() == 5_000
    clock.start()
    wall.advance(2)
    assert clock.now_ms() == 5_000 + 120_000
    cap = [130_000]
    clock.limit = lambda: cap[0]
    wall.advance(10)
    assert clock.now_ms() == 130_000  # held: the data is behind
    cap[0] = 10**9
    wall.advance(1)
    assert clock.now_ms() == 190_000  # then on at its speed, without a jump


def test_the_feed_holds_the_scenario_up_to_the_clock_and_starts_now(tmp_path: Path) -> None:
    t0_ms = 1_800_000_000_000
    feed = tmp_path / "feed.nmea"
    writer = FeedWriter("ecs-mini", feed, ManualClock(t0_ms), t0_ms)
    assert writer.pump(t0_ms) == 0
    first = writer.pump(t0_ms + 30_000)
    second = writer.pump(t0_ms + 60_000)
    lines = feed.read_text().splitlines()
    assert first and second and len(lines) == first + second == writer.lines
    assert not writer.finished
    stamps = [int(line.split("c:")[1].split("*")[0].split(",")[0]) for line in lines]
    assert stamps == sorted(stamps)
    assert min(stamps) > t0_ms // 1000 and max(stamps) <= t0_ms // 1000 + 60
    assert writer.bytes == feed.stat().st_size
    assert writer.time_at(0) == t0_ms and writer.time_at(writer.bytes) <= t0_ms + 60_000
    assert writer.time_at(writer.bytes) == max(stamps) * 1000


def _deliver(sender: Ledger, receiver: Ledger, to: str) -> None:
    while (body := sender.push_request(to)) is not None:
        sender.accept_response(to, receiver.receive_push(body))


def _notify(
    ledger: Ledger, clock: ManualClock, kind: str = "notification", rule: str = "zone_entry"
) -> int:
    body: dict[str, object] = {
        "text": "Please confirm your intentions.",
        "text_en": "Please confirm your intentions.",
        "marker": "WARNING",
        "template": f"incident.{rule}",
        "incident": f"{rule}:1",
    }
    if kind == "escalation":
        body["level"] = 2
    return ledger.send("ccg", kind, body, deadline_ms=clock.now_ms() + DEADLINE_MS, lang="en").seq


def test_the_bot_lets_deadlines_pass_until_an_escalation_then_acks_as_a_bot(
    tmp_path: Path,
) -> None:
    clock = _wall()
    setup = prepare(tmp_path / "demo", clock=clock)
    jcg_dir, ccg_dir = (node.dir for node in setup.nodes)
    with (
        open_ledger(load_node(jcg_dir), clock) as jcg,
        open_ledger(load_node(ccg_dir), clock) as ccg,
    ):
        first, second = _notify(jcg, clock, rule="close_quarters"), _notify(jcg, clock)
        _deliver(jcg, ccg, "ccg")
        woken: list[int] = []
        bot = DemoBot(ccg, "jcg", clock, think_s=120, on_sent=lambda: woken.append(1))
        assert bot.step() == []
        clock.advance(DEADLINE_MS / 1000)  # no escalation came (the situations were over)
        third = _notify(jcg, clock)
        _deliver(jcg, ccg, "ccg")
        assert bot.step() == [] and woken == []  # nothing answered before an escalation
        own = jcg.own_origin("ccg")
        assert bot.ignored == [(own, first), (own, second), (own, third)]
        escalation = _notify(jcg, clock, "escalation")
        fourth = _notify(jcg, clock)
        _deliver(jcg, ccg, "ccg")
        assert bot.step() == []  # thinking
        clock.advance(120)
        acks = bot.step()
        assert [(a.kind, a.refs[0].seq) for a in acks] == [("ack", escalation), ("ack", fourth)]
        assert all(str(a.body["text"]).startswith(BOT_PREFIX) for a in acks) and woken == [1]
        assert bot.escalated and bot.step() == []  # each message once
        _deliver(ccg, jcg, "jcg")
        rows = jcg.log_view("ccg")
        acked = {row["seq"]: row["acknowledged"] for row in rows if row["origin"] == own}
        assert acked == {first: False, second: False, third: False, escalation: True, fourth: True}


def test_the_summary_of_a_demo_that_has_not_run_is_empty_and_verified(tmp_path: Path) -> None:
    setup = prepare(tmp_path / "demo", clock=_wall())
    summary = summarize(setup)
    assert summary == {
        "incidents": 0,
        "events_by_kind": {},
        "hotline": {"sent": 0, "receipted": 0, "acknowledged": 0, "escalated": 0},
        "ledger_verify": {"jcg": "ok", "ccg": "ok"},
        "workdir": str(setup.workdir),
    }
