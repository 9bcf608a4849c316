"""Audit many jurisdictions at once, one Dask task per jurisdiction.

Each task runs the same chain as ``placewise audit`` (:func:`placewise.pipeline.run_chain`:
backtest → fit → allocate with its audits and policy → feedback simulation → run log → report)
on one jurisdiction, with that jurisdiction's settings and seed, so its result is the one a
serial run gives, whatever the number of workers. A failing jurisdiction becomes a result with
its error; it never stops the others, and is never left out.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import PolicyViolation, param_error
from ._jurisdictions import CHAIN_KEYS, Jurisdiction, load
from ._warnings import capturing, reissue

#: Columns of the cross-jurisdiction summary table, in order.
SUMMARY_COLUMNS = [
    "jurisdiction", "status", "incidents", "active_cells", "model", "strategy", "units", "cells_patrolled",
    "risk_share", "min_exposure_ratio", "max_exposure_ratio", "gini_cells", "gini_over_baseline",
    "checks_passed", "checks_failed", "checks_not_assessed", "failed_checks", "error",
]


@dataclass
class JurisdictionResult:
    """One jurisdiction's outcome.

    ``status`` is ``"ok"``, ``"blocked"`` (the policy stopped the plan; the report says why) or
    ``"failed"`` (``error`` holds the exception type and message, ``traceback`` the trace).
    ``row`` is its line of the summary table; ``verdicts`` the report's verdict table;
    ``plan`` the allocation (None when blocked before one was returned, or failed).
    """

    name: str
    status: str
    row: dict[str, Any]
    verdicts: list[dict[str, str]] = field(default_factory=list)
    plan: Any = None
    files: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    seconds: float = float("nan")

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def _row(name: str, status: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in SUMMARY_COLUMNS}
    row.update(jurisdiction=name, status=status, **kw)
    return row


def _failed(name: str, e: BaseException, seconds: float = float("nan")) -> JurisdictionResult:
    msg = f"{type(e).__name__}: {e}"
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return JurisdictionResult(name=name, status="failed", row=_row(name, "failed", error=msg), error=msg, traceback=tb,
                              seconds=seconds)


def _plan_row(plan: Any) -> dict[str, Any]:
    if plan is None:
        return {}
    ratios = plan.exposure_ratios()
    conc = plan.concentration.table
    cells = conc.loc["cells"] if "cells" in conc.index else None
    return {
        "strategy": plan.strategy,
        "units": float(plan.budget.units),
        "cells_patrolled": int((plan.units > 0).sum()),
        "risk_share": float(plan.risk_share),
        "min_exposure_ratio": None if ratios is None else float(np.nanmin(ratios.to_numpy())),
        "max_exposure_ratio": None if ratios is None else float(np.nanmax(ratios.to_numpy())),
        "gini_cells": None if cells is None else float(cells["gini"]),
        "gini_over_baseline": None if cells is None else float(cells["gini_over_baseline"]),
    }


def _policy(p: Any) -> Any:
    """``"none"`` (a config cannot write None) → no policy; a path, ``"default"``, an
    AuditPolicy or None go to run_chain as they are."""
    return None if isinstance(p, str) and p.lower() == "none" else p


def audit_one(jurisdiction: Jurisdiction, *, out: str | os.PathLike[str] | None = None,
              **chain: Any) -> JurisdictionResult:
    """The chain on one jurisdiction (what each task of :func:`audit_many` runs; call it to get
    the serial result). ``chain`` holds :func:`~placewise.pipeline.run_chain` settings, overridden
    by the jurisdiction's own; ``out`` is the folder for its report (default: a temporary folder,
    removed afterwards). Never raises for the jurisdiction's own errors: they become a failed
    result."""
    from ..pipeline import run_chain

    j = jurisdiction
    t0 = time.perf_counter()
    try:
        settings = {**chain, **j.chain}
        unknown = set(settings) - set(CHAIN_KEYS)
        if unknown:
            raise param_error(sorted(unknown)[0], f"not a chain setting; known: {', '.join(CHAIN_KEYS)}")
        for k in ("at", "backtest_start"):
            if k not in settings:
                raise param_error(k, f"{j.name}: the chain needs `{k}`")
        if "policy" in settings:  # absent: run_chain's default (the packaged default policy)
            settings["policy"] = _policy(settings["policy"])
        if "models" in settings:
            settings["models"] = tuple(settings["models"])
        settings.setdefault("title", f"placewise audit report — {j.name}")
        city = load(j)
        with tempfile.TemporaryDirectory(prefix="placewise-") as tmp:
            folder = Path(out) if out is not None else Path(tmp)
            status, plan, checks = "ok", None, []
            try:
                res = run_chain(city, folder, **settings)
                plan, verdicts = res.plan, res.report.document["verdicts"]
            except PolicyViolation as v:
                import json

                status, checks = "blocked", list(getattr(v, "checks", []))
                plan = getattr(v, "blocked", None) or getattr(v, "plan", None)
                verdicts = json.loads((folder / "audit_report.json").read_text(encoding="utf-8"))["verdicts"]
            files: dict[str, str] = {}
            if out is not None:
                written = res.files.items() if status == "ok" else [
                    (f"report_{ext}", folder / f"audit_report.{ext}") for ext in ("html", "json", "md")]
                files = {k: str(p) for k, p in written if Path(p).exists()}
        statuses = [v["status"] for v in verdicts]
        failed = [v["check"] for v in verdicts if v["status"] == "fail"]
        row = _row(j.name, status, incidents=len(city.incidents), active_cells=int(city.grid.n_active),
                   model=str(settings.get("model", "kde")), checks_passed=statuses.count("pass"),
                   checks_failed=statuses.count("fail"), checks_not_assessed=len(statuses) - statuses.count("pass") - statuses.count("fail"),
                   failed_checks="; ".join(failed or checks) or None, **_plan_row(plan))
        return JurisdictionResult(name=j.name, status=status, row=row, verdicts=verdicts, plan=plan, files=files,
                                  seconds=time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001 - reported by name in the result, never lost
        return _failed(j.name, e, time.perf_counter() - t0)


def _task(j: Jurisdiction | dict[str, Any], city: Any, out: Path | None, chain: dict[str, Any]) -> JurisdictionResult:
    """One Dask task; a jurisdiction held in memory comes as its fields plus the scattered data."""
    if isinstance(j, dict):
        j = Jurisdiction(**j, city=city)
    return audit_one(j, out=out, **chain)


@dataclass
class AuditManyResult:
    """Per-jurisdiction results (input order) and the cross-jurisdiction summary table."""

    results: list[JurisdictionResult]

    def __getitem__(self, name: str) -> JurisdictionResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per jurisdiction (columns :data:`SUMMARY_COLUMNS`)."""
        return pd.DataFrame([r.row for r in self.results], columns=SUMMARY_COLUMNS)

    @property
    def failures(self) -> dict[str, str]:
        """Error per failed jurisdiction, by name."""
        return {r.name: r.error or "" for r in self.results if r.status == "failed"}

    def __repr__(self) -> str:
        s = pd.Series([r.status for r in self.results]).value_counts().to_dict()
        return f"<AuditManyResult {len(self.results)} jurisdictions: {s}>"


def _safe_name(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.strip())
    return keep or "jurisdiction"


def audit_many(jurisdictions: Iterable[Jurisdiction], *, client: Any = None, workers: int | None = None,
               out: str | os.PathLike[str] | None = None, progress: bool = False, **chain: Any) -> AuditManyResult:
    """Runs :func:`audit_one` for every jurisdiction as Dask tasks and collects the results.

    ``client``: None (a local cluster sized to the machine, or ``workers`` processes), a
    :class:`dask.distributed.Client`, or a scheduler address. Jurisdictions given as files are
    read by the workers; those given in memory (``city=``) are scattered once. ``out``: a folder
    for one report per jurisdiction (``out/<name>/``) and the summary (``summary.csv``,
    ``summary.md``, ``summary.html``). ``chain``: settings for
    :func:`~placewise.pipeline.run_chain` (``at`` and ``backtest_start`` at least, unless every
    jurisdiction sets them). ``progress``: Dask's progress bar (for a terminal).
    """
    from ._cluster import cluster

    js: Sequence[Jurisdiction] = list(jurisdictions)
    if not js:
        raise param_error("jurisdictions", "give at least one jurisdiction")
    for j in js:
        if not isinstance(j, Jurisdiction):
            raise param_error("jurisdictions", f"expected Jurisdiction objects, got {type(j).__name__}")
    names = [j.name for j in js]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise param_error("jurisdictions", f"names must be unique; repeated: {dup}")
    folders = {j.name: (Path(out) / _safe_name(j.name) if out is not None else None) for j in js}
    if out is not None and len({str(f) for f in folders.values()}) != len(js):
        raise param_error("jurisdictions", "two names map to the same report folder; rename one")
    from dask.distributed import progress as dask_progress

    with cluster(client, workers=workers) as c:
        futures = []
        run = uuid.uuid4().hex[:8]
        for j in js:
            key = f"audit-{_safe_name(j.name)}-{run}"
            if j.city is not None:  # in memory: scattered once, the description travels without it
                spec = {f.name: getattr(j, f.name) for f in dataclasses.fields(j) if f.name != "city"}
                city = c.scatter(j.city, hash=False)
                futures.append(c.submit(capturing, _task, spec, city, folders[j.name], chain, pure=False, key=key))
            else:
                futures.append(c.submit(capturing, _task, j, None, folders[j.name], chain, pure=False, key=key))
        if progress:
            dask_progress(futures, scheduler=c.scheduler.address)  # this cluster, not the default client
        results = []
        for j, f in zip(js, futures):
            try:
                results.append(reissue(f.result(), prefix=f"{j.name}: "))
            except Exception as e:  # noqa: BLE001 - a task lost beyond Dask's retries: reported by name
                results.append(_failed(j.name, e))
    res = AuditManyResult(results)
    if out is not None:
        write_summary(res, out)
    return res


def write_summary(res: AuditManyResult, out: str | os.PathLike[str]) -> dict[str, Path]:
    """The summary table as CSV, Markdown and a small HTML page linking each report."""
    import html

    o = Path(out)
    o.mkdir(parents=True, exist_ok=True)
    s = res.summary
    files = {"csv": o / "summary.csv", "md": o / "summary.md", "html": o / "summary.html"}
    s.to_csv(files["csv"], index=False)
    counts = s["status"].value_counts().to_dict()
    head = (f"# placewise: audits of {len(s)} jurisdictions\n\n"
            f"{counts.get('ok', 0)} completed, {counts.get('blocked', 0)} blocked by the audit policy, "
            f"{counts.get('failed', 0)} failed (named below with their error).\n\n")
    files["md"].write_text(head + s.to_markdown(index=False) + "\n", encoding="utf-8")
    rows = []
    for r in res.results:
        link = ""
        if r.files.get("report_html"):
            rel = os.path.relpath(r.files["report_html"], o)
            link = f'<a href="{html.escape(rel)}">report</a>'
        cells = "".join(f"<td>{html.escape('' if v is None or (isinstance(v, float) and np.isnan(v)) else (f'{v:.3g}' if isinstance(v, float) else str(v)))}</td>"
                        for v in (r.row[c] for c in SUMMARY_COLUMNS))
        rows.append(f"<tr>{cells}<td>{link}</td></tr>")
    hdr = "".join(f"<th>{html.escape(c)}</th>" for c in SUMMARY_COLUMNS) + "<th></th>"
    files["html"].write_text(
        "<!doctype html><meta charset='utf-8'><title>placewise: audits of many jurisdictions</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style>"
        f"<h1>Audits of {len(s)} jurisdictions</h1><p>{html.escape(head.splitlines()[2])}</p>"
        f"<table><tr>{hdr}</tr>{''.join(rows)}</table>", encoding="utf-8")
    return files
