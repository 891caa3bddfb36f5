"""Where per-file work runs: local processes (joblib) or a Dask cluster, with the same results.

``map_ordered`` applies a module-level function to each item and yields the results in
the items' order, whichever backend runs them. On Dask, at most ``IN_FLIGHT_PER_WORKER``
tasks per worker are submitted ahead of the one being collected, so the client holds a
bounded number of results however long the list is. A task that raises stops the run
with the task's own exception (its message names the file); a worker that dies takes
no result with it: the scheduler reruns its tasks on the others.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from joblib import Parallel, delayed

from deepfake_audio.errors import InputError
from deepfake_audio.params import ComputeParams

IN_FLIGHT_PER_WORKER = 4
CONNECT_TIMEOUT_S = 30


def map_ordered(
    function: Callable, items: Iterable, compute: ComputeParams, *, name: str = "task"
) -> Iterator:
    """``function(item)`` for each item, in order, on ``compute.backend``."""
    if compute.backend == "local":
        yield from Parallel(n_jobs=compute.n_jobs, return_as="generator")(
            delayed(function)(item) for item in items
        )
        return
    with dask_client(compute) as client:
        yield from dask_map_ordered(client, function, items, name=name)


@contextmanager
def dask_client(compute: ComputeParams):
    """A client of ``compute.scheduler``, or of a local cluster of ``n_jobs`` workers when it is null."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if compute.scheduler is None:
            cluster = LocalCluster(
                n_workers=compute.n_jobs,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
        elif compute.scheduler.endswith(".json"):
            client = Client(scheduler_file=compute.scheduler, timeout=CONNECT_TIMEOUT_S)
        else:
            client = Client(compute.scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as err:
        if cluster is not None:
            cluster.close()
        raise InputError(
            f"compute.scheduler: cannot reach the Dask scheduler {compute.scheduler}: {err}"
        ) from None
    try:
        # The scheduler's web server shows the dashboard only where bokeh is installed (a lambda
        # travels by value, so the scheduler needs nothing of ours to run it).
        has_dashboard = client.run_on_scheduler(lambda: importlib.util.find_spec("bokeh") is not None)
        dashboard = f", dashboard {client.dashboard_link}" if has_dashboard else ""
        workers = len(client.scheduler_info()["workers"])
        print(f"dask: scheduler {client.scheduler.address}, {workers} workers{dashboard}", file=sys.stderr)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dask_map_ordered(client, function: Callable, items: Iterable, *, name: str = "task") -> Iterator:
    """``map_ordered`` on a connected client; logs tasks done, failed and rerun at the end."""
    prefix = (
        f"{name}-{uuid.uuid4().hex[:8]}-"  # keys unique to this run: a shared scheduler may hold older ones
    )
    started = time.time()
    source = iter(enumerate(items))
    pending: deque = deque()

    def submit_next() -> None:
        entry = next(source, None)
        if entry is not None:
            index, item = entry
            # pure=False: the same item submitted twice is two tasks (a rerun recomputes it).
            pending.append(client.submit(function, item, key=f"{prefix}{index}", pure=False))

    for _ in range(IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))):
        submit_next()
    done = failed = 0
    try:
        while pending:
            try:
                result = pending.popleft().result()
            except InputError:
                failed = 1
                raise
            done += 1
            yield result
            submit_next()
    finally:
        for future in pending:
            future.cancel()
        _log_run(client, name, prefix, started=started, done=done, failed=failed)


def _log_run(client, name: str, prefix: str, *, started: float, done: int, failed: int) -> None:
    """One line: tasks done and failed, and the workers lost since ``started`` with our tasks they took."""
    lost_workers, rerun = 0, 0
    for stamp, event in client.get_events("all"):  # one request, at the end
        if stamp >= started and isinstance(event, dict) and event.get("action") == "remove-worker":
            lost_workers += 1
            taken = {*event.get("processing-tasks", ()), *event.get("lost-computed-tasks", ())}
            rerun += sum(str(key).startswith(prefix) for key in taken)
    lost = f"; {lost_workers} workers lost, {rerun} tasks rerun" if lost_workers else ""
    print(f"dask: {done} {name} tasks done, {failed} failed{lost}", file=sys.stderr)
