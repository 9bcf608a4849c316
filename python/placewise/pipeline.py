"""The whole chain in one call: backtest → predict → allocate (with audits and policy) →
feedback simulation → run log → audit report. Used by ``placewise demo`` and
``placewise audit``, and usable from Python."""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .exceptions import PolicyViolation

MODEL_NAMES = ("auto", "naive", "kde", "prospective", "retrospective", "sepp", "blend", "risk_factors")


def make_model(name: str, cell_size: float) -> Any:
    """A model by short name, with defaults suited to ``cell_size``."""
    from . import models

    name = name.lower()
    if name == "auto":
        from .exceptions import param_error

        raise param_error("model", "'auto' chooses by rolling validation and needs incidents and a time: use "
                                   "placewise.selection.choose_model (or --model auto with predict, allocate, audit, demo)")
    if name == "naive":
        return models.Naive(window_days=365)
    if name == "kde":
        return models.KDE(bandwidth=4 * cell_size, mode="binned", window_days=365)
    if name == "prospective":
        return models.ProspectiveHotspot()
    if name == "retrospective":
        return models.RetrospectiveHotspot()
    if name == "sepp" and hasattr(models, "SEPP"):
        return models.SEPP(kind="grid")
    if name == "blend":
        return models.Blend()
    if name == "risk_factors":
        return models.RiskFactors()
    from .exceptions import InvalidParameterError

    raise InvalidParameterError(f"invalid parameter `model`: {name!r}; choose from {', '.join(MODEL_NAMES)}")


@dataclass
class ChainResult:
    report: Any
    plan: Any
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run_chain(
    city: Any,
    out: str | os.PathLike[str],
    *,
    at: str,
    backtest_start: str,
    models: tuple[str, ...] = ("kde", "prospective"),
    model: str = "auto",
    units: float = 60,
    strategy: str = "fair",
    reference: str | None = None,
    tau: float = 0.8,
    policy: Any = None,
    override_reason: str | None = None,
    feedback_rounds: int = 20,
    feedback_replicates: int = 4,
    seed: int = 0,
    context: dict[str, Any] | None = None,
    title: str | None = None,
    say: Callable[[str], None] = lambda s: None,
    progress: bool | None = None,
) -> ChainResult:
    """Runs the chain on ``city`` (a :class:`~placewise.datasets.CityData`) and writes the
    report (HTML, JSON, Markdown), the allocation (GeoJSON, CSV) and the run log into ``out``.

    A policy violation is recorded in the report and the run log and then re-raised, unless
    ``override_reason`` is given.
    """
    from . import audit as A
    from .allocate import Budget, allocate
    from .evaluate import backtest
    from .report import AuditReport
    from .runlog import RunLog, make_record

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t: dict[str, float] = {}
    inc, grid, pop = city.incidents, city.grid, city.population
    cs = grid.cell_size

    t0 = time.perf_counter()
    selection = None
    if model == "auto":
        from .selection import choose_model

        say(f"choosing a model by rolling validation against the naive baseline, weekly origins from {backtest_start} to {at}…")
        chosen, selection = choose_model(inc, grid, at, weeks=max(1, (pd.Timestamp(at) - pd.Timestamp(backtest_start)).days // 7),
                                         seed=seed)
        bt = selection.backtest
        say(selection.plain_words())
    else:
        say(f"backtesting {', '.join(models)} against the naive baseline, weekly origins from {backtest_start} to {at}…")
        bt = backtest({m: make_model(m, cs) for m in models}, inc, grid, start=backtest_start, end=at, step="7D",
                      train_window="365D", coverage=[0.01, 0.05], bootstrap=1000, seed=seed, progress=progress)
        chosen = make_model(model, cs)
    t["backtest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"fitting {chosen!r} on incidents before {at} and allocating {units:g} units ({strategy})…")
    train = inc.until(at)
    surface = chosen.fit(train, grid).predict(at=at)
    ref = reference if reference is not None else (max(pop.groups, key=lambda g: pop.totals[g]) if strategy == "fair" else None)
    kw: dict[str, Any] = {"population": pop, "seed": seed}
    if strategy == "fair":
        kw.update(reference=ref, tau=tau)
    violation: PolicyViolation | None = None
    try:
        plan = allocate(surface, budget=Budget(units=units), strategy=strategy, policy=policy,
                        override_reason=override_reason, **kw)
    except PolicyViolation as e:
        violation = e
        plan = allocate(surface, budget=Budget(units=units), strategy=strategy, **kw)
    t["allocate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"simulating the feedback loop ({feedback_rounds} rounds × {feedback_replicates} replicates, 4 scenarios)…")
    truth = make_model("kde", cs).fit(inc, grid).predict()
    weekly = len(inc.until(at)) / max((pd.Timestamp(at, tz=inc.tz) - inc.time_span[0]).days / 7, 1)
    fb = A.compare_mitigations(grid=grid, truth=truth, budget=units, rounds=feedback_rounds, replicates=feedback_replicates,
                               incidents_per_round=weekly, population=pop, seed=seed)
    urn = A.ensign_urn(rates=(3.68511, 2.816466), prior=(609, 379), draws=1000, runs=200, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prov = A.data_provenance(train, population=pop)
    t["feedback"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    files = {
        "allocation_geojson": out / "allocation.geojson",
        "allocation_csv": out / "allocation.csv",
        "run_log": out / "runs.jsonl",
        "report_html": out / "audit_report.html",
        "report_json": out / "audit_report.json",
        "report_md": out / "audit_report.md",
    }
    plan.to_geojson(files["allocation_geojson"])
    plan.to_csv(files["allocation_csv"])
    log = RunLog(files["run_log"])
    summary = A.summarize(disparity=plan.audit, concentration=plan.concentration, feedback=fb)
    log.append(make_record(
        inputs={"incidents": train, "population": pop},
        outputs={"dose": plan.dose},
        params={"model": repr(surface.model), "surface_params": surface.params, "strategy": strategy, "units": units,
                "reference": ref, "tau": tau, "at": at},
        seed=seed, audit=summary,
        override=plan.policy_decision,
        policy_violation=None if violation is None else list(getattr(violation, "checks", [])),
    ))
    ctx = dict(context or {})
    report = AuditReport(title=title or f"placewise audit report — {city.name}", incidents=inc, backtest=bt, plan=plan,
                         feedback=fb, urn=urn, provenance=prov, run_log=log, policy=policy, context=ctx,
                         selection=selection, model_used=selection.chosen if selection is not None else model)
    report.to_html(files["report_html"])
    report.to_json(files["report_json"])
    report.to_markdown(files["report_md"])
    t["report"] = time.perf_counter() - t0
    (out / "timings.json").write_text(json.dumps(t, indent=2))
    if violation is not None:
        raise violation
    return ChainResult(report=report, plan=plan, files=files, timings=t)
