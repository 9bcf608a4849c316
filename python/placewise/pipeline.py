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

from .audit._ensign import ENSIGN_OAKLAND
from .exceptions import PolicyViolation, param_error

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
    raise param_error("model", f"{name!r}; choose from {', '.join(MODEL_NAMES)}")


@dataclass
class ChainResult:
    report: Any
    plan: Any
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def resolve_policy(policy: Any) -> Any:
    """``"default"`` → the packaged default policy; a path → that file; an AuditPolicy as is;
    None → no policy (an explicit choice: the report says "no policy applied")."""
    from .audit.policy import AuditPolicy

    if policy is None or isinstance(policy, AuditPolicy):
        return policy
    if isinstance(policy, str) and policy == "default":
        return AuditPolicy.default()
    if isinstance(policy, (str, os.PathLike)):
        return AuditPolicy.from_file(policy)
    raise param_error("policy", f"expected 'default', a policy file or an AuditPolicy, got {type(policy).__name__}")


def _warning_line(w: warnings.WarningMessage) -> str:
    return f"{w.category.__name__}: {w.message}"


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
    policy: Any = "default",
    override_reason: str | None = None,
    override_by: str | None = None,
    skip_audits: tuple[str, ...] | list[str] = (),
    feedback_rounds: int = 20,
    feedback_replicates: int = 4,
    seed: int = 0,
    context: dict[str, Any] | None = None,
    title: str | None = None,
    say: Callable[[str], None] = lambda s: None,
    progress: bool | None = None,
    deployment: Any = None,
) -> ChainResult:
    """Runs the chain on ``city`` (a :class:`~placewise.datasets.CityData`) and writes the
    report (HTML, JSON, Markdown), the allocation (GeoJSON, CSV) and the run log into ``out``.

    The plan is allocated **once**, through the gate, with the data-provenance and feedback
    audits run beforehand so that the policy checks them too. ``policy`` is ``"default"`` (the
    packaged default policy), a policy file, an :class:`~placewise.AuditPolicy`, or None (no
    policy: the report's verdict table says so first). A blocked plan is written as
    ``allocation.BLOCKED.csv`` / ``.geojson`` (with a ``decision`` column), recorded in the
    report (which leads with it) and in the run log, and the :class:`~placewise.PolicyViolation`
    is then raised. Warnings raised during the run are collected into the report ("What the run
    warned about") and ``ChainResult.warnings``, never silenced. ``deployment`` (a
    :class:`~placewise.report.crosswalk.DeploymentRecord` or the path of its TOML) answers the
    report's crosswalk items; it is read before any work, so a bad key fails fast.
    """
    if isinstance(deployment, (str, os.PathLike)):
        from .report.crosswalk import DeploymentRecord

        deployment = DeploymentRecord.from_toml(deployment)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        res, violation = _run(city, out, at=at, backtest_start=backtest_start, models=models, model=model, units=units,
                              strategy=strategy, reference=reference, tau=tau, policy=resolve_policy(policy),
                              override_reason=override_reason, override_by=override_by, skip_audits=list(skip_audits),
                              feedback_rounds=feedback_rounds, feedback_replicates=feedback_replicates, seed=seed,
                              context=context, title=title, say=say, progress=progress, caught=caught,
                              deployment=deployment)
    if violation is not None:
        violation.chain = res  # type: ignore[attr-defined]
        raise violation
    return res


def _run(city: Any, out: str | os.PathLike[str], *, at: str, backtest_start: str, models: tuple[str, ...], model: str,
         units: float, strategy: str, reference: str | None, tau: float, policy: Any, override_reason: str | None,
         override_by: str | None, skip_audits: list[str], feedback_rounds: int, feedback_replicates: int, seed: int,
         context: dict[str, Any] | None, title: str | None, say: Callable[[str], None], progress: bool | None,
         caught: list[warnings.WarningMessage], deployment: Any = None) -> tuple[ChainResult, PolicyViolation | None]:
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
    say(f"fitting {chosen!r} on incidents before {at}…")
    train = inc.until(at)
    surface = chosen.fit(train, grid).predict(at=at)
    t["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"auditing the training data and simulating the feedback loop ({feedback_rounds} rounds × "
        f"{feedback_replicates} replicates, 4 scenarios)…")
    prov = A.data_provenance(train, population=pop)
    truth = make_model("kde", cs).fit(inc, grid).predict()
    weekly = len(inc.until(at)) / max((pd.Timestamp(at, tz=inc.tz) - inc.time_span[0]).days / 7, 1)
    fb = A.compare_mitigations(grid=grid, truth=truth, budget=units, rounds=feedback_rounds, replicates=feedback_replicates,
                               incidents_per_round=weekly, population=pop, seed=seed)
    urn = A.ensign_urn(**ENSIGN_OAKLAND, seed=seed)
    t["feedback"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    policy_label = policy.label if policy is not None else "no policy applied"
    say(f"allocating {units:g} units ({strategy}) through the gate ({policy_label})…")
    ref = reference if reference is not None else (max(pop.groups, key=lambda g: pop.totals[g]) if strategy == "fair" else None)
    kw: dict[str, Any] = {"population": pop, "seed": seed}
    if strategy == "fair":
        kw.update(reference=ref, tau=tau)
    violation: PolicyViolation | None = None
    try:
        plan = allocate(surface, budget=Budget(units=units), strategy=strategy, policy=policy,
                        override_reason=override_reason, override_by=override_by, skip_audits=skip_audits,
                        provenance=prov, feedback=fb, **kw)
    except PolicyViolation as e:
        if e.blocked is None:
            raise
        violation = e
        plan = e.blocked
    t["allocate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    stem = "allocation.BLOCKED" if plan.blocked else "allocation"
    files = {
        "allocation_geojson": out / f"{stem}.geojson",
        "allocation_csv": out / f"{stem}.csv",
        "run_log": out / "runs.jsonl",
        "report_html": out / "audit_report.html",
        "report_json": out / "audit_report.json",
        "report_md": out / "audit_report.md",
    }
    for stale in ("allocation.geojson", "allocation.csv", "allocation.BLOCKED.geojson", "allocation.BLOCKED.csv"):
        p = out / stale
        if p.exists() and p not in files.values():
            p.unlink()  # an earlier run's plan must not sit next to this run's report
    plan.to_geojson(files["allocation_geojson"])
    plan.to_csv(files["allocation_csv"])
    log = RunLog(files["run_log"])
    log.append(make_record(
        inputs={"incidents": train, "population": pop},
        outputs={"dose": plan.dose},
        params={"model": repr(surface.model), "surface_params": surface.params, "strategy": strategy, "units": units,
                "reference": ref, "tau": tau, "at": at, "policy": policy_label},
        seed=seed, audit=json.loads(plan.audit_summary.to_json()),
        decision=plan.decision_dict(),
        override=plan.decision_dict()["override"],
        policy_violation=None if violation is None else list(violation.failed_checks),
    ))
    ctx = dict(context or {})
    warned = list(dict.fromkeys(_warning_line(w) for w in caught))
    need = need_by_area(city, plan, surface, units, seed)
    report = AuditReport(title=title or f"placewise audit report — {city.name}", incidents=inc, backtest=bt, plan=plan,
                         feedback=fb, urn=urn, provenance=prov, run_log=log, policy=policy, context=ctx, need=need,
                         areas=getattr(city, "areas", None), policy_applied=policy is not None, run_warnings=warned,
                         selection=selection, model_used=selection.chosen if selection is not None else model,
                         deployment=deployment)
    report.to_html(files["report_html"])
    report.to_json(files["report_json"])
    report.to_markdown(files["report_md"])
    t["report"] = time.perf_counter() - t0
    (out / "timings.json").write_text(json.dumps(t, indent=2))
    for line in warned:
        say(f"warning: {line}")
    return ChainResult(report=report, plan=plan, files=files, timings=t, warnings=warned), violation


def need_by_area(city: Any, plan: Any, surface: Any, units: float, seed: int) -> Any:
    """Concentration of the plan against need (expected incidents) across the city's areas: the
    check that can fail, with its power; the cell-level Gini rides along as context."""
    import numpy as np

    from .audit import area_of_cells, concentration_vs_need

    areas = getattr(city, "areas", None)
    if areas is None or len(areas) < 2:
        return None
    name = next((c for c in ("community", "AREA_NAME", "name") if c in areas.columns), None)
    labels, ids = area_of_cells(areas, city.grid, name)
    ok = labels >= 0
    dose = np.asarray(plan.dose, dtype=float).ravel()
    need = np.nan_to_num(np.asarray(surface.values, dtype=float).ravel())
    k = len(ids)
    dose_a = np.bincount(labels[ok], weights=dose[ok], minlength=k)
    need_a = np.bincount(labels[ok], weights=need[ok], minlength=k)
    pop = np.bincount(labels[ok], weights=np.asarray(city.population.counts).sum(axis=1)[ok], minlength=k)
    return concentration_vs_need(pd.Series(dose_a, index=ids), pd.Series(need_a, index=ids),
                                 quanta=max(int(round(units)), 1), population=pd.Series(pop, index=ids), seed=seed,
                                 patrol_label="patrol units", need_label="expected incidents",
                                 cell_dose=dose[city.grid.cell_ids])
