"""Node configuration (``node.toml``) and the settings table.

One table, :data:`SETTINGS`, declares every tunable: its name, unit, default, allowed range
and help. It drives validation, the CLI's help text and ``docs/settings.md`` (a test keeps
that page current). A node's ``node.toml`` may override any setting under ``[settings]``.
This module reads files and validates values; it must not import any other Seabridge module
except :mod:`seabridge.errors`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seabridge.errors import ConfigError

__all__ = ["SETTINGS", "Setting", "Settings", "load_settings", "settings_markdown"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One tunable: its name, unit, default, allowed range and help text."""

    name: str
    unit: str
    default: float
    minimum: float
    maximum: float
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "ingest.dedup_window_min",
        "min",
        10.0,
        0.0,
        1440.0,
        "Identical reports (same mmsi, ts, lat, lon, msg_type) are stored once and counted "
        "as duplicates. Reports within this window of the newest data are matched in "
        "memory; older ones against the stored rows of their hours.",
    ),
    Setting(
        "ingest.multipart_max_age_s",
        "s",
        60.0,
        1.0,
        3600.0,
        "A multipart message whose fragments do not all arrive within this age (in data "
        "time, or in input lines when there is no time) is dropped as incomplete_multipart.",
    ),
    Setting(
        "ingest.future_horizon_min",
        "min",
        60.0,
        0.0,
        10080.0,
        "Reports timed more than this after the clock's now (the node's clock; the system "
        "clock for `seabridge ingest`) are rejected as future_time: one report stamped a "
        "year ahead would make live detection run every tick up to that time. Receivers' "
        "clocks drift by seconds, not hours. 0 turns the check off, for replays of data "
        "stamped in the future on purpose.",
    ),
    Setting(
        "ingest.batch_rows",
        "rows",
        65536.0,
        1024.0,
        1048576.0,
        "Decoded records are written to the track store in Arrow batches of this many rows.",
    ),
    Setting(
        "ingest.reconnect_max_s",
        "s",
        60.0,
        1.0,
        3600.0,
        "A TCP source that drops reconnects with exponential backoff up to this delay.",
    ),
    Setting(
        "detect.tick_s",
        "s",
        10.0,
        1.0,
        600.0,
        "The detection engine evaluates every rule at data times that are multiples of this "
        "interval (since the epoch, so every node ticks at the same instants).",
    ),
    Setting(
        "detect.tick_delay_s",
        "s",
        5.0,
        0.0,
        600.0,
        "A tick runs once data time has passed it by this much, so positions that arrive a "
        "few seconds out of order are not treated as late.",
    ),
    Setting(
        "detect.hysteresis_s",
        "s",
        30.0,
        0.0,
        3600.0,
        "An event closes when its situation has been absent this long; it ends at the last "
        "tick it was present. Shorter absences do not split an event.",
    ),
    Setting(
        "detect.watermark_min",
        "min",
        10.0,
        0.0,
        120.0,
        "Positions up to this late (behind the newest data time) are applied and the events "
        "they change are revised or retracted; older ones are counted and ignored.",
    ),
    Setting(
        "detect.max_fix_age_min",
        "min",
        30.0,
        0.5,
        1440.0,
        "A vessel is in the detection frame while its latest position is at most this old.",
    ),
    Setting(
        "detect.checkpoint_ticks",
        "ticks",
        6.0,
        1.0,
        360.0,
        "The engine saves its state every this many ticks, to replay from when late "
        "positions arrive (fewer: faster replays, more copying).",
    ),
    Setting(
        "detect.update_change",
        "ratio",
        0.2,
        0.01,
        10.0,
        "An open event is re-emitted (status update) when its level rises or its key metric "
        "moves by at least this fraction of its last reported value.",
    ),
    Setting(
        "console.session_idle_min",
        "min",
        30.0,
        1.0,
        1440.0,
        "A console session ends after this long without a request; the operator logs in again.",
    ),
    Setting(
        "console.session_max_h",
        "h",
        12.0,
        0.25,
        168.0,
        "A console session ends this long after login, however active (one shift).",
    ),
    Setting(
        "console.login_max_failures",
        "failures",
        5.0,
        1.0,
        100.0,
        "Failed logins allowed per user name within the login window; more are refused "
        "with HTTP 429 until the oldest failure leaves the window.",
    ),
    Setting(
        "console.login_max_failures_client",
        "failures",
        20.0,
        1.0,
        1000.0,
        "Failed logins allowed per client address (any user names) within the login window.",
    ),
    Setting(
        "console.login_window_min",
        "min",
        15.0,
        1.0,
        1440.0,
        "The window over which failed logins are counted.",
    ),
    Setting(
        "node.step_s",
        "s",
        0.25,
        0.01,
        10.0,
        "A serving node polls its sources and runs one pipeline step (ingest, detect, "
        "incidents) this often.",
    ),
    Setting(
        "node.step_lines",
        "lines",
        50000.0,
        100.0,
        1000000.0,
        "The most input lines one pipeline step takes from each source; the rest wait for "
        "the next step.",
    ),
    Setting(
        "node.rebuild_window_min",
        "min",
        30.0,
        0.0,
        1440.0,
        "On restart the live detection engine is rebuilt from this much of the newest "
        "stored tracks (its events are not emitted again).",
    ),
    Setting(
        "node.events_recent",
        "events",
        10000.0,
        100.0,
        1000000.0,
        "How many of the newest events a serving node keeps in memory for queries (all are "
        "kept in events.jsonl).",
    ),
    Setting(
        "feed.quarantine_rate_max",
        "ratio",
        0.2,
        0.0,
        1.0,
        "A source whose share of quarantined lines over one check window exceeds this "
        "raises a data_quality (feed health) event; it closes when the share falls back.",
    ),
    Setting(
        "feed.quarantine_min_lines",
        "lines",
        100.0,
        1.0,
        1000000.0,
        "A window with fewer lines than this from a source is not judged for its quarantine rate.",
    ),
    Setting(
        "feed.window_s",
        "s",
        60.0,
        1.0,
        3600.0,
        "The window (node clock) over which a source's quarantine rate is measured.",
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


class Settings:
    """Validated values of every setting, defaults unless overridden."""

    def __init__(self, overrides: dict[str, float] | None = None) -> None:
        self._values = {setting.name: setting.default for setting in SETTINGS}
        for name, value in (overrides or {}).items():
            self._values[name] = _validate(name, value)

    def __getitem__(self, name: str) -> float:
        try:
            return self._values[name]
        except KeyError:
            raise ConfigError(f"unknown setting {name!r}; known: {', '.join(_BY_NAME)}") from None

    def as_dict(self) -> dict[str, float]:
        """Every setting and its value."""
        return dict(self._values)


def _validate(name: str, value: Any) -> float:
    setting = _BY_NAME.get(name)
    if setting is None:
        raise ConfigError(f"unknown setting {name!r}; known: {', '.join(_BY_NAME)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"setting {name} must be a number ({setting.unit}), got {value!r}")
    if not setting.minimum <= value <= setting.maximum:
        raise ConfigError(
            f"setting {name} = {value} {setting.unit} is outside "
            f"[{setting.minimum:g}, {setting.maximum:g}]"
        )
    return float(value)


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def load_settings(path: Path | None) -> Settings:
    """Read the ``[settings]`` table of a ``node.toml`` file (defaults when ``path`` is None).

    Raises:
        ConfigError: the file cannot be read, is not TOML, or a value is unknown or invalid;
            the message names the file and the setting.
    """
    if path is None:
        return Settings()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    raw = document.get("settings", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [settings] must be a table")
    try:
        return Settings(_flatten(raw))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def settings_markdown() -> str:
    """The settings reference page, generated from :data:`SETTINGS`."""
    lines = [
        "# Settings",
        "",
        "Generated from `seabridge.config.SETTINGS`; a test keeps this page current.",
        "Override any of them in a node's `node.toml` under `[settings]`.",
        "",
        "| setting | unit | default | range | what it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        lines.append(
            f"| `{s.name}` | {s.unit} | {s.default:g} | {s.minimum:g} to {s.maximum:g} | {s.help} |"
        )
    return "\n".join(lines) + "\n"
