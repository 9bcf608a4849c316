"""Sweeps as Dask tasks, with the single-process answer to the bit.

:func:`backtest` runs :func:`placewise.evaluate.backtest` as one task per (origin × model): each
task is the serial function on one origin and one model (plus the baseline, which is cheap), the
incidents and grid are scattered once, and the tidy table and mean curves are put back together
in the serial order. A backtest draws no random numbers (its seed only drives the bootstrap of
``summary()`` / ``compare()``, run on the assembled table), so the result is identical to the
serial one whatever the number of workers.

:func:`select` runs model selection with one task per (origin × model × parameter) cell
(:func:`cell_map`). :func:`feedback` and :func:`compare_mitigations` run slices of the replicates
as tasks: replicate ``i`` draws from the stream ``(seed, i)`` of the one root ``seed``, whichever
task runs it, so the merged result is the serial one.

:func:`dask_map` turns a client into the ``map=`` hook that placewise's own sweep functions take
(``map(function, tasks) -> results in task order``); their task descriptions carry their seeds.
"""

from __future__ import annotations

import dataclasses
import types
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import param_error
from ._warnings import capturing, reissue


def dask_map(client: Any) -> Callable[[Callable[[Any], Any], Iterable[Any]], list[Any]]:
    """``map(function, tasks)`` on ``client``: one task per item, results in item order."""

    def _map(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        # A callable object (e.g. one holding the incidents and grid) is shipped once, not per task.
        f = fn if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType)) else client.scatter(fn, hash=False)
        run = uuid.uuid4().hex[:8]
        futures = [client.submit(capturing, _call, f, item, pure=False, key=f"map-{i}-{run}")
                   for i, item in enumerate(items)]
        return [reissue(part) for part in client.gather(futures)]

    return _map


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


def _one(models: dict[str, Any], incidents: Any, grid: Any, origin: pd.Timestamp, end: pd.Timestamp,
         kw: dict[str, Any]) -> Any:
    from ..evaluate import backtest as serial

    return serial(models, incidents, grid, start=origin, end=end, progress=False, **kw)


def backtest(models: Sequence[Any] | Mapping[str, Any], incidents: Any, grid: Any, start: Any, end: Any,
             step: Any = "7D", horizon: Any = None, train_window: Any = "365D",
             coverage: float | Iterable[float] = (0.01, 0.05), baseline: Any = None, bootstrap: int = 2000,
             confidence: float = 0.95, seed: int = 0, *, client: Any = None, workers: int | None = None,
             progress: bool = False) -> Any:
    """:func:`placewise.evaluate.backtest` as (origin × model) Dask tasks; same arguments, same
    :class:`~placewise.evaluate.BacktestResult` (equal to the serial one, bit for bit).

    ``client`` / ``workers``: see :func:`placewise.distributed.cluster`.
    """
    from .._time import to_utc_seconds
    from ..evaluate import BacktestResult, _coverages, _labels, _timedelta
    from ._cluster import cluster

    if not isinstance(bootstrap, (int, np.integer)) or isinstance(bootstrap, bool) or bootstrap < 0:
        raise param_error("bootstrap", f"must be an integer >= 0, got {bootstrap!r}")
    step_td = _timedelta(step, "step")
    horizon_td = step_td if horizon is None else _timedelta(horizon, "horizon")
    window_td = _timedelta(train_window, "train_window")
    covs = _coverages(coverage)
    tz = incidents.tz
    t0 = pd.Timestamp(to_utc_seconds(start, tz, "start"), unit="s", tz="UTC").tz_convert(tz)
    t1 = pd.Timestamp(to_utc_seconds(end, tz, "end"), unit="s", tz="UTC").tz_convert(tz)
    if t1 <= t0:
        raise param_error("end", f"{t1} is not after start {t0}")
    origins = list(pd.date_range(t0, t1, freq=step_td, inclusive="left"))
    labelled = _labels(models)
    if baseline is None:
        from ..models import Naive

        baseline = Naive(window_days=window_td / pd.Timedelta(days=1))
    base_label = "Naive (baseline)"
    kw = {"step": step_td, "horizon": horizon_td, "train_window": window_td, "coverage": covs, "baseline": baseline,
          "bootstrap": 0, "confidence": confidence, "seed": seed}
    # One origin per task: [origin, min(origin + 1 s, end)) holds exactly that origin.
    ends = [min(o + pd.Timedelta(seconds=1), t1) for o in origins]
    cells = [(i, k) for i in range(len(origins)) for k in range(max(len(labelled), 1))]
    with cluster(client, workers=workers) as c:
        inc_f, grid_f = c.scatter([incidents, grid], broadcast=False, hash=False)
        futures, run = [], uuid.uuid4().hex[:8]
        for i, k in cells:
            ms = {labelled[k][0]: labelled[k][1]} if labelled else {}
            futures.append(c.submit(capturing, _one, ms, inc_f, grid_f, origins[i], ends[i], kw, pure=False,
                                    key=f"backtest-{i}-{k}-{run}"))
        if progress:
            from dask.distributed import progress as dask_progress

            dask_progress(futures, scheduler=c.scheduler.address)  # this cluster, not the default client
        parts = [reissue(part) for part in c.gather(futures)]
    by_cell = dict(zip(cells, parts))
    frames: list[pd.DataFrame] = []
    curves: dict[str, list[np.ndarray]] = {lab: [] for lab in [base_label] + [lab for lab, _ in labelled]}
    for i in range(len(origins)):
        first = by_cell[(i, 0)]
        frames.append(first.frame[first.frame["model"] == base_label])
        if base_label in first.curves:
            curves[base_label].append(first.curves[base_label][1])
        for k, (lab, _) in enumerate(labelled):
            r = by_cell[(i, k)]
            frames.append(r.frame[r.frame["model"] == lab])
            if lab in r.curves:
                curves[lab].append(r.curves[lab][1])
    frame = pd.concat(frames, ignore_index=True)
    grid_cov = np.linspace(0, 1, 201)
    mean_curves = {k: (grid_cov, np.mean(v, axis=0)) for k, v in curves.items() if v}
    params = {"start": t0, "end": t1, "step": step_td, "horizon": horizon_td, "train_window": window_td,
              "coverage": covs, "bootstrap": bootstrap, "confidence": confidence, "seed": seed}
    return BacktestResult(frame=frame, baseline=base_label, params=params, curves=mean_curves)


def _chunks(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


def _feedback_part(fn_name: str, kw: dict[str, Any], ids: list[int], grid: Any, truth: Any, population: Any) -> Any:
    from ..audit import compare_mitigations as serial_comparison
    from ..audit import feedback as serial_feedback

    fn = serial_feedback if fn_name == "feedback" else serial_comparison
    return fn(grid=grid, truth=truth, population=population, replicate_ids=ids, **kw)


def _feedback(fn_name: str, combine: Callable[[list[Any]], Any], kw: dict[str, Any], client: Any, workers: int | None,
              replicates_per_task: int, threads_per_task: int | None, progress: bool) -> Any:
    from ._cluster import cluster

    if threads_per_task is not None and (not isinstance(threads_per_task, int) or isinstance(threads_per_task, bool)
                                         or threads_per_task < 1):
        raise param_error("threads_per_task", f"must be an integer >= 1 or None, got {threads_per_task!r}")
    kw["workers"] = threads_per_task
    n = kw.get("replicates", 50)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise param_error("replicates", f"must be an integer >= 1, got {n!r}")
    if not isinstance(replicates_per_task, int) or replicates_per_task < 1:
        raise param_error("replicates_per_task", f"must be an integer >= 1, got {replicates_per_task!r}")
    if "replicate_ids" in kw:
        raise param_error("replicate_ids", "is chosen here: each task runs a slice of range(replicates)")
    big = {k: kw.pop(k, None) for k in ("grid", "truth", "population")}
    if big["truth"] is None and "scenario" in kw:
        big["truth"] = kw.pop("scenario")
    with cluster(client, workers=workers) as c:
        shipped = c.scatter([big["grid"], big["truth"], big["population"]], broadcast=False, hash=False)
        run = uuid.uuid4().hex[:8]
        futures = [c.submit(capturing, _feedback_part, fn_name, kw, ids, *shipped, pure=False,
                            key=f"feedback-{ids[0]}-{run}")
                   for ids in _chunks(int(n), replicates_per_task)]
        if progress:
            from dask.distributed import progress as dask_progress

            dask_progress(futures, scheduler=c.scheduler.address)  # this cluster, not the default client
        parts = [reissue(part) for part in c.gather(futures)]
    return combine(parts)


def feedback(*, client: Any = None, workers: int | None = None, replicates_per_task: int = 1,
             threads_per_task: int | None = 1, progress: bool = False, **kwargs: Any) -> Any:
    """:func:`placewise.audit.feedback` with its replicates as Dask tasks (``replicates_per_task``
    each), merged by :meth:`~placewise.audit.FeedbackResult.combine`: the result equals the
    single-process one bit for bit, whatever the number of workers or the task size (each
    replicate's random stream is the core's ``stream(seed, replicate)``). ``kwargs`` are those of
    :func:`placewise.audit.feedback`; the grid, truth and population are scattered once.
    ``threads_per_task``: the Rust threads each task uses (default 1: Dask runs the tasks in
    parallel; None uses every core of the worker's machine). The result does not depend on it."""
    from ..audit import FeedbackResult

    return _feedback("feedback", FeedbackResult.combine, dict(kwargs), client, workers, replicates_per_task,
                     threads_per_task, progress)


def compare_mitigations(*, client: Any = None, workers: int | None = None, replicates_per_task: int = 1,
                        threads_per_task: int | None = 1, progress: bool = False, **kwargs: Any) -> Any:
    """:func:`placewise.audit.compare_mitigations` with its replicates as Dask tasks (each task
    runs every scenario on its replicates), merged by
    :meth:`~placewise.audit.FeedbackComparison.combine`; equal to the single-process result."""
    from ..audit import FeedbackComparison

    return _feedback("compare_mitigations", FeedbackComparison.combine, dict(kwargs), client, workers,
                     replicates_per_task, threads_per_task, progress)


def _cells(task: Any) -> list[Any]:
    """One selection task per (origin × model × parameter) cell of ``task`` (an origin's task).

    Candidates whose fits the serial engine shares within an origin (every :class:`~placewise.Blend`,
    every :class:`~placewise.RiskFactors`) stay together in one cell, so each cell computes what
    the serial run computes for it; every other candidate is a cell of its own."""
    from ..models import Blend, RiskFactors

    groups: dict[tuple[str, Any], list[Any]] = {}
    for i, c in enumerate(task.candidates):
        shared = isinstance(c.model, (Blend, RiskFactors))
        groups.setdefault(("shared", type(c.model).__name__) if shared else ("alone", i), []).append(c)
    if not groups:
        return [task]
    return [dataclasses.replace(task, candidates=tuple(cs)) for cs in groups.values()]


def _merge(task: Any, parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows the serial engine gives for ``task`` from the rows of its cells: the baseline's
    (each cell scores it; the first cell's are kept), then each candidate's in the task's order."""
    from ..selection import BASELINE

    rows = [r for r in parts[0] if r["candidate"] == BASELINE]
    by: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for r in part:
            if r["candidate"] != BASELINE:
                by.setdefault(r["candidate"], []).append(r)
    for c in task.candidates:
        rows += by[c.label]
    return rows


def cell_map(client: Any) -> Callable[[Callable[[Any], Any], Iterable[Any]], list[Any]]:
    """The ``map=`` hook of :func:`placewise.evaluate.select` with one Dask task per (origin ×
    model × parameter) cell rather than per origin; the rows come back in the serial order."""
    inner = dask_map(client)

    def _map(fn: Callable[[Any], Any], tasks: Iterable[Any]) -> list[Any]:
        tasks = list(tasks)
        split = [_cells(t) for t in tasks]
        flat = inner(fn, [c for cells in split for c in cells])
        out, k = [], 0
        for t, cells in zip(tasks, split):
            out.append(_merge(t, flat[k:k + len(cells)]))
            k += len(cells)
        return out

    return _map


def select(*args: Any, client: Any = None, workers: int | None = None, **kwargs: Any) -> Any:
    """:func:`placewise.evaluate.select` with one Dask task per (origin × model × parameter)
    cell (through its ``map=`` hook, :func:`cell_map`); the incidents and grid travel once.
    Selection draws no random numbers until its bootstrap, which runs here on the assembled
    scores, so the result equals the single-process one bit for bit, whatever the number of
    workers."""
    from .. import evaluate
    from ._cluster import cluster

    if "map" in kwargs:
        raise param_error("map", "is set here from `client`")
    with cluster(client, workers=workers) as c:
        return evaluate.select(*args, map=cell_map(c), **kwargs)
