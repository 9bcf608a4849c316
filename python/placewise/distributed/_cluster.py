"""Which Dask cluster a distributed call runs on.

``client=None`` starts a :class:`dask.distributed.LocalCluster` sized to the machine (one worker
process per core, one thread each: the Rust calls release the GIL, but the pandas glue around
them does not) and closes it afterwards; a :class:`dask.distributed.Client` is used as it is and
left open; a scheduler address (``"tcp://host:8786"``) is connected to, and refused with an error
naming it when no scheduler answers within ``timeout`` seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dask.distributed import Client, LocalCluster

from ..exceptions import param_error

#: Seconds to wait for a scheduler at an address before giving up.
CONNECT_TIMEOUT_S = 10.0


def local_workers() -> int:
    """Worker processes a default local cluster starts: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def cluster(client: Any = None, *, workers: int | None = None, timeout: float | None = None) -> Iterator[Client]:
    """A :class:`~dask.distributed.Client` for ``client`` (see the module docstring).

    ``workers`` sets the number of worker processes of a cluster started here (default: one per
    core); it is refused together with an existing client or address, whose size is the
    cluster's own. ``timeout``: seconds to wait for a scheduler at an address (default
    :data:`CONNECT_TIMEOUT_S`).
    """
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise param_error("workers", f"must be an integer >= 1, got {workers!r}")
    if client is None:
        n = workers or local_workers()
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
                Client(lc) as c:
            yield c
        return
    if workers is not None:
        raise param_error("workers", "applies only to a local cluster started here (client=None); "
                                     "an existing cluster has its own workers")
    if isinstance(client, Client):
        yield client
        return
    if isinstance(client, str):
        timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
        try:
            c = Client(client, timeout=timeout)
        except (OSError, TimeoutError) as e:
            raise param_error("client", f"no Dask scheduler answered at {client!r} within {timeout:g} s ({e})") from e
        try:
            yield c
        finally:
            c.close()
        return
    raise param_error("client", f"expected None, a dask.distributed.Client or a scheduler address, got {type(client).__name__}")


def n_workers(client: Client) -> int:
    """Workers the scheduler knows now."""
    return len(client.scheduler_info().get("workers", {}))
