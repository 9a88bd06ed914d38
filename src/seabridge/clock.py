"""Time for everything that is not data time.

Data time (message timestamps) drives detection. Wall time drives only live deadlines,
reconnect backoff and receive timestamps, and it always comes through a :class:`Clock`
handed in by the caller, so tests use :class:`ManualClock` and never sleep.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "ReplayClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of the current time and a way to wait."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch, UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait for ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to; ``sleep`` advances it at once.

    Thread-safe, so a test can advance it while a worker thread reads it.
    """

    def __init__(self, start_ms: int = 0) -> None:
        self._now_ms = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now_ms

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``.

        Raises:
            ValueError: ``seconds`` is negative; clocks never run backwards.
        """
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._now_ms += round(seconds * 1000)

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms`` (never backwards)."""
        with self._lock:
            if now_ms < self._now_ms:
                raise ValueError(f"a clock cannot go back ({now_ms} < {self._now_ms})")
            self._now_ms = now_ms

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))


class ReplayClock:
    """Time that runs ``speed`` times faster than the wall, from a data-time origin.

    Used by the simulator and replays: ``now_ms`` is ``origin_ms`` plus ``speed`` times the
    wall time elapsed since the clock was made, read from the injected ``wall`` clock.
    """

    def __init__(self, origin_ms: int, speed: float = 1.0, wall: Clock | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"replay speed must be positive, got {speed}")
        self._wall: Clock = wall if wall is not None else SystemClock()
        self._origin_ms = origin_ms
        self._speed = speed
        self._wall_start_ms = self._wall.now_ms()

    def now_ms(self) -> int:
        elapsed_ms = self._wall.now_ms() - self._wall_start_ms
        return self._origin_ms + round(elapsed_ms * self._speed)

    def sleep(self, seconds: float) -> None:
        self._wall.sleep(seconds / self._speed)
