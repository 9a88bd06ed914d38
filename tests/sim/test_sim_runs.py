"""Runs of the simulator as a whole: determinism, the two encoders, outputs, the TCP feed."""

from __future__ import annotations

import hashlib
import io
import queue
import socket
import threading
from pathlib import Path

import pytest

from seabridge.clock import ManualClock
from seabridge.errors import SourceError
from seabridge.sim import (
    Simulation,
    load_scenario,
    parse_address,
    serve_tcp,
    simulate,
    write_lines,
)

WINDOW_S = 300.0


def _digest(seed: int | None = None, encoder: str = "fast", duration_s: float = WINDOW_S) -> str:
    digest = hashlib.sha256()
    simulate(
        load_scenario("ecs-mini"),
        lambda line: digest.update(line.encode("ascii")),
        seed=seed,
        duration_s=duration_s,
        encoder=encoder,
    )
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_bytes() -> None:
    assert _digest() == _digest()


def test_another_seed_gives_other_traffic() -> None:
    assert _digest(seed=1, duration_s=60.0) != _digest(duration_s=60.0)


def test_the_numpy_encoder_writes_what_pyais_writes() -> None:
    assert _digest(encoder="pyais", duration_s=180.0) == _digest(duration_s=180.0)


def test_a_simulation_runs_once() -> None:
    simulation = Simulation(load_scenario("ecs-mini"), duration_s=60.0)
    with pytest.raises(RuntimeError, match="not run"):
        _ = simulation.result
    for _ in simulation.transmissions():
        pass
    with pytest.raises(RuntimeError, match="runs once"):
        next(iter(simulation.transmissions()))


def test_write_lines_writes_every_sentence_behind_its_tag_block() -> None:
    simulation = Simulation(load_scenario("ecs-mini"), duration_s=60.0)
    stream = io.StringIO()
    count = write_lines(simulation.transmissions(), stream)
    lines = stream.getvalue().splitlines()
    assert count == len(lines) == simulation.result.sentences > 0
    assert all(line.startswith("\\s:") and "*" in line and "\\!AIVDM," in line for line in lines)


@pytest.mark.network
def test_the_tcp_feed_sends_the_run_paced_by_the_clock() -> None:
    expected = io.StringIO()
    write_lines(Simulation(load_scenario("ecs-mini"), duration_s=120.0).transmissions(), expected)
    clock = ManualClock(start_ms=0)
    ports: queue.Queue[int] = queue.Queue()
    sent: list[int] = []

    def serve() -> None:
        simulation = Simulation(load_scenario("ecs-mini"), duration_s=120.0)
        sent.append(
            serve_tcp(
                simulation.transmissions(),
                ("127.0.0.1", 0),
                speed=10.0,
                clock=clock,
                on_listen=lambda bound: ports.put(bound[1]),
                first_client_timeout_s=10.0,
            )
        )

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    received = bytearray()
    with socket.create_connection(("127.0.0.1", ports.get(timeout=10.0)), timeout=10.0) as client:
        while chunk := client.recv(1 << 16):
            received += chunk
    server.join(timeout=10.0)
    text = received.decode("ascii")
    assert text.replace("\r\n", "\n") == expected.getvalue()
    assert sent == [text.count("\r\n")]
    # 119 s of data time at 10x: the feed waited about 11.9 s on the (manual) wall clock.
    assert 11_000 <= clock.now_ms() <= 12_000


@pytest.mark.network
def test_the_tcp_feed_gives_up_without_a_client() -> None:
    simulation = Simulation(load_scenario("ecs-mini"), duration_s=10.0)
    with pytest.raises(SourceError, match="no client connected"):
        serve_tcp(
            simulation.transmissions(),
            ("127.0.0.1", 0),
            speed=1.0,
            clock=ManualClock(),
            first_client_timeout_s=0.05,
        )


def test_addresses() -> None:
    assert parse_address("127.0.0.1:10110") == ("127.0.0.1", 10110)
    assert parse_address("[::1]:0") == ("::1", 0)
    for bad in ("10110", "host:", "host:99999", ":5"):
        with pytest.raises(SourceError, match="HOST:PORT"):
            parse_address(bad)


def test_a_scenario_without_stations_uses_one(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(
        """\
scenario: one
title: one vessel
start: 2010-09-07T00:00:00Z
duration: 2m
vessels:
  - mmsi: 431999101
    name: KAIYO PATROL 101
    ship_type: 55
    position: {lat: 25.9, lon: 123.4}
    behaviours:
      - anchored: {}
""",
        encoding="utf-8",
    )
    lines: list[str] = []
    result = simulate(load_scenario(path), lines.append)
    assert result.summary()["vessels"] == 1
    assert all(line.startswith("\\s:sim,c:") for line in lines)


def test_the_public_api_is_pinned() -> None:
    import seabridge.sim

    assert sorted(seabridge.sim.__all__) == [
        "Incidental", "Scenario", "ScenarioError", "SimResult", "Simulation", "Transmission",
        "builtin_scenarios", "load_scenario", "parse_address", "parse_duration_s",
        "parse_scenario", "reporting_interval_s", "serve_tcp", "simulate", "truth_line",
        "write_lines",
    ]  # fmt: skip
    assert set(seabridge.sim.builtin_scenarios()) >= {"ecs-mini", "ecs-demo"}
