"""Where the work runs: a local dask.distributed cluster, or an existing scheduler.

``maskclean run`` and ``maskclean compare`` always compute through a
``distributed.Client``, so progress, memory limits and failures look the same
locally and on a cluster. Locally that is a ``LocalCluster`` of worker
*processes* (one thread each: numba, OpenCV and SciPy release the GIL only in
parts, and processes keep a crash in one file from taking the others down),
listening on the loopback interface only.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

__all__ = ["ClusterError", "client_for"]

#: Seconds to wait for an existing scheduler before giving up with a message.
CONNECT_TIMEOUT = 10


class ClusterError(RuntimeError):
    """The cluster could not be reached or started (the message says what to do)."""


def _quiet_distributed() -> None:
    """Silence distributed's INFO logs of every worker start/stop (noise for a CLI user)."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler",
                 "distributed.worker", "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def client_for(
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: str | None = None,
    processes: bool = True,
) -> Iterator[object]:
    """A ``distributed.Client`` for the run, closed (and its local cluster stopped) after.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``). None starts a
        local cluster on 127.0.0.1.
    workers : int, optional
        Local worker processes (default: the number of CPUs).
    memory_limit : str, optional
        Per local worker, e.g. ``"2GB"`` (dask's format); default: dask's ``"auto"``.
    processes : bool
        Local workers as processes (default) or threads (tests, debugging).

    Raises
    ------
    ClusterError
        No scheduler answers at ``scheduler`` within :data:`CONNECT_TIMEOUT` seconds,
        or the local cluster could not start.
    """
    from distributed import Client, LocalCluster

    _quiet_distributed()
    if scheduler is not None:
        if workers is not None or memory_limit is not None:
            raise ClusterError("--workers and --memory-limit apply to the local cluster only; "
                               "size an existing cluster where it is started")
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as err:
            raise ClusterError(
                f"no dask scheduler answers at {scheduler!r} (waited {CONNECT_TIMEOUT} s: "
                f"{err}); check the address and that 'dask scheduler' runs there, or leave "
                "out --scheduler to run on this machine"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ClusterError(f"--workers must be at least 1, got {n}")
    try:
        # processes listen on the loopback interface only; threads talk in-process
        where = {"host": "127.0.0.1"} if processes else {}
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
            memory_limit=memory_limit or "auto", **where,
        )
    except (OSError, ValueError, TypeError, RuntimeError) as err:
        raise ClusterError(f"could not start {n} local dask workers: {err}") from None
    try:
        with Client(cluster) as client:
            if processes:
                # one task per core in each worker: no extra threads inside a task
                client.run(_one_thread_per_task)
            yield client
    finally:
        cluster.close()


def _one_thread_per_task() -> None:
    """Run in each local worker process: kernels and OpenCV use one thread."""
    import cv2

    from ..core._parallel import set_max_threads

    set_max_threads(1)
    cv2.setNumThreads(1)
