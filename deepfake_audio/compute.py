"""Where per-file work runs: local processes (joblib) or a Dask cluster, with the same results.

``map_ordered`` applies a module-level function to each item and yields the results in
the items' order, whichever backend runs them. On Dask, at most ``IN_FLIGHT_PER_WORKER``
tasks per worker are submitted ahead of the one being collected, so the client holds a
bounded number of results however long the list is. A task that raises stops the run
with the task's own exception (its message names the file); a worker that dies takes
no result with it: the scheduler reruns its tasks on the others.
"""

from __future__ import annotations

import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from joblib import Parallel, delayed

from deepfake_audio.errors import InputError
from deepfake_audio.params import ComputeParams

IN_FLIGHT_PER_WORKER = 4
CONNECT_TIMEOUT_S = 30


def map_ordered(function: Callable, items: Iterable, compute: ComputeParams, name: str = "task") -> Iterator:
    """``function(item)`` for each item, in order, on ``compute.backend``."""
    if compute.backend == "local":
        yield from Parallel(n_jobs=compute.n_jobs, return_as="generator")(delayed(function)(item) for item in items)
        return
    with dask_client(compute) as client:
        yield from dask_map_ordered(client, function, items, name)


@contextmanager
def dask_client(compute: ComputeParams):
    """A client of ``compute.scheduler``, or of a local cluster of ``n_jobs`` workers when it is null."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if compute.scheduler is None:
            cluster = LocalCluster(n_workers=compute.n_jobs, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        elif compute.scheduler.endswith(".json"):
            client = Client(scheduler_file=compute.scheduler, timeout=CONNECT_TIMEOUT_S)
        else:
            client = Client(compute.scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as err:
        if cluster is not None:
            cluster.close()
        raise InputError(f"compute.scheduler: cannot reach the Dask scheduler {compute.scheduler}: {err}") from None
    try:
        info = client.scheduler_info()
        # The scheduler serves a dashboard only where bokeh is installed.
        dashboard = f", dashboard {client.dashboard_link}" if "dashboard" in info.get("services", {}) else ""
        print(f"dask: scheduler {client.scheduler.address}, {len(info['workers'])} workers{dashboard}",
              file=sys.stderr)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dask_map_ordered(client, function: Callable, items: Iterable, name: str = "task") -> Iterator:
    """``map_ordered`` on a connected client; logs tasks done, failed and workers lost at the end."""
    pending: deque = deque()
    run = uuid.uuid4().hex[:8]  # keys unique to this run: a shared scheduler may hold older ones
    source = iter(enumerate(items))
    ahead = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
    workers_seen = set(client.scheduler_info()["workers"])
    done = 0

    def submit_next() -> None:
        for index, item in source:
            # pure=False: the same item submitted twice is two tasks (a rerun recomputes it).
            pending.append(client.submit(function, item, key=f"{name}-{run}-{index}", pure=False))
            return

    for _ in range(ahead):
        submit_next()
    try:
        while pending:
            future = pending.popleft()
            try:
                result = future.result()
            except InputError:
                print(f"dask: {done} {name} tasks done, 1 failed", file=sys.stderr)
                raise
            done += 1
            workers_seen |= set(client.scheduler_info()["workers"])
            yield result
            submit_next()
    finally:
        for future in pending:
            future.cancel()
    lost = workers_seen - set(client.scheduler_info()["workers"])
    print(f"dask: {done} {name} tasks done, 0 failed"
          + (f"; {len(lost)} workers lost, their tasks rerun" if lost else ""), file=sys.stderr)

