"""``seabridge detect --archive DIR``: the rulebook over the Parquet archive, local or on Dask.

Thin: :mod:`seabridge.detect.scaleout` does the work. ``--engine local`` is one sequential run
in this process; ``--engine dask`` cuts the window into day partitions and runs them on a
Dask cluster (``--scheduler ADDR``) or on a LocalCluster of ``--workers`` processes started
here. Dask is imported only for ``--engine dask``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seabridge.cli._app import err
from seabridge.errors import InputError

__all__ = ["ENGINES", "detect_archive"]

ENGINES = ("local", "dask")
ENGINE_HELP = "local: one sequential run here; dask: day partitions on a Dask cluster."
SCHEDULER_HELP = "Dask scheduler address (tcp://HOST:8786); default: a LocalCluster here."
WORKERS_HELP = "Workers of the LocalCluster started without --scheduler (one thread each)."


@contextmanager
def _dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            "--engine dask needs Dask distributed: pip install 'seabridge[scale]'"
        ) from None
    if scheduler is not None:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


def detect_archive(
    root: str,
    factory: Any,
    start_ms: int | None,
    end_ms: int | None,
    *,
    engine: str,
    scheduler: str | None,
    workers: int,
) -> tuple[list[Any], int]:
    """Final events over the archive, and how many positions were read."""
    from seabridge.detect import final_events
    from seabridge.detect.scaleout import dask_executor, run_archive, run_partitioned
    from seabridge.tracks.archive import Archive

    if engine not in ENGINES:
        raise InputError(f"--engine {engine}: choose one of {', '.join(ENGINES)}")
    if workers < 1:
        raise InputError("--workers must be at least 1")
    if engine == "local" and scheduler is not None:
        raise InputError("--scheduler needs --engine dask")
    archive = Archive(root if "://" in root else Path(root))
    if engine == "local":
        run = factory()
        with _bar("detect", err.is_terminal) as update:

            def progress(reached: int, lo: int, hi: int) -> None:
                if update is not None:
                    update(reached - lo, hi - lo)

            events = final_events(run_archive(archive, run, start_ms, end_ms, progress=progress))
        return events, run.stats.positions
    with _dask_client(scheduler, workers) as client, _bar("partitions", err.is_terminal) as bar:
        merged, results = run_partitioned(
            archive, factory, start_ms, end_ms, executor=dask_executor(client), progress=bar
        )
    return merged, sum(r.positions + r.run_on_positions for r in results)


@contextmanager
def _bar(label: str, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, total=total, completed=done)

    with bar:
        yield update
