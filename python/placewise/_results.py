"""Result classes of the audits that travel with an allocation: :class:`DisparityAudit` and
:class:`ConcentrationAudit`, each built from the typed result of the Rust core
(``_native.DisparityResult`` / ``_native.ConcentrationResult``) with pandas frames for reading.

They live outside :mod:`placewise.audit` so that :mod:`placewise.allocate` can attach them
without importing the audit package (which imports the allocation for its simulations).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from . import _native
from ._jsonable import jsonable, nan
from .exceptions import param_error

CAVEAT = (
    "Bands such as 0.8-1.25 are conventions for flagging allocations for human review, not proofs "
    "of fairness: an allocation inside the band can still be unfair, and one outside it can have "
    "reasons that a person must weigh."
)

_METHODS = ("between_groups", "to_overall", "to_reference")
_GROUP_FIELDS = ("group", "population", "exposure", "rate", "exposure_share", "population_share", "ratio_to_reference",
                 "difference_to_reference", "ratio_to_overall", "difference_to_overall", "rate_ci", "ratio_to_reference_ci",
                 "ratio_to_overall_ci", "verdict", "verdict_ci", "protection", "need_share", "exposure_to_need",
                 "detectable_ratio_to_reference", "detectable_ratio_to_overall")
_RESULT_FIELDS = ("reference", "reference_rule", "overall_rate", "overall_rate_ci", "overall_protection", "tau", "bootstrap",
                  "confidence", "seed", "resampling_unit", "n_units", "undefined_resamples", "total_dose",
                  "mde_normalised_to_reference", "informative_to_reference", "check_to_reference",
                  "mde_normalised_to_overall", "informative_to_overall", "check_to_overall")
_INEQUALITY_FIELDS = ("n", "gini", "theil", "baseline_gini_mean", "baseline_gini_ci", "baseline_theil_mean",
                      "baseline_theil_ci", "gini_over_baseline", "theil_over_baseline",
                      "share_random_at_least_as_concentrated")


class DisparityAudit:
    """Exposure per capita by group, in the style of fairlearn's ``MetricFrame``.

    Built by :func:`disparity`. ``overall`` is the whole population's exposure per capita
    E = Σ dose·pop / Σ pop; ``by_group`` a DataFrame with one row per group: ``population``,
    ``exposure`` (person-dose), ``rate`` (E_g), ``exposure_share``, ``population_share``,
    ``ratio_to_reference`` / ``difference_to_reference``, ``ratio_to_overall`` /
    ``difference_to_overall``, bootstrap interval columns ``*_low`` / ``*_high``, ``verdict``
    (the point ratio to the reference against [τ, 1/τ]), ``verdict_ci`` (the interval against
    the band: ``inconclusive`` when it straddles an edge), and, when given, ``protection`` and
    need columns. The bootstrap resamples cells (``resampling_unit``), seeded by ``seed``.

    Power: ``detectable_ratio_to_reference_below`` / ``_above`` (and ``_to_overall_``) are the
    ratios nearest parity that this budget and sample could tell apart from parity (R / hi and
    R / lo for the ratio R and its interval [lo, hi]). ``check_to_reference`` (and
    ``check_to_overall``) is ``"fail"`` when a group lies outside the band, ``"pass"`` only when
    none does *and* a ratio at the band edge would have been detected
    (``informative_to_reference``), else ``"not_informative"``; :meth:`power_statement` says it
    in words.
    """

    def __init__(self, native: _native.DisparityResult) -> None:
        self._native = native
        rows = []
        for r in native.groups:
            rows.append(
                {
                    "group": r.group,
                    "population": r.population,
                    "exposure": r.exposure,
                    "rate": r.rate,
                    "rate_low": r.rate_ci[0],
                    "rate_high": r.rate_ci[1],
                    "exposure_share": r.exposure_share,
                    "population_share": r.population_share,
                    "ratio_to_reference": r.ratio_to_reference,
                    "ratio_to_reference_low": r.ratio_to_reference_ci[0],
                    "ratio_to_reference_high": r.ratio_to_reference_ci[1],
                    "difference_to_reference": r.difference_to_reference,
                    "ratio_to_overall": r.ratio_to_overall,
                    "ratio_to_overall_low": r.ratio_to_overall_ci[0],
                    "ratio_to_overall_high": r.ratio_to_overall_ci[1],
                    "difference_to_overall": r.difference_to_overall,
                    "verdict": r.verdict,
                    "verdict_ci": r.verdict_ci,
                    "protection": nan(r.protection),
                    "need_share": nan(r.need_share),
                    "exposure_to_need": nan(r.exposure_to_need),
                    "detectable_ratio_to_reference_below": r.detectable_ratio_to_reference[0],
                    "detectable_ratio_to_reference_above": r.detectable_ratio_to_reference[1],
                    "detectable_ratio_to_overall_below": r.detectable_ratio_to_overall[0],
                    "detectable_ratio_to_overall_above": r.detectable_ratio_to_overall[1],
                }
            )
        df = pd.DataFrame(rows).set_index("group")
        if native.overall_protection is None and df["protection"].isna().all():
            df = df.drop(columns=["protection"])
        if df["need_share"].isna().all():
            df = df.drop(columns=["need_share", "exposure_to_need"])
        self.by_group: pd.DataFrame = df
        self.groups = [r.group for r in native.groups]
        self.overall: float = native.overall_rate
        self.overall_ci: tuple[float, float] = native.overall_rate_ci
        self.overall_protection: float = nan(native.overall_protection)
        self.reference: str = native.reference
        self.reference_rule: str = native.reference_rule
        self.tau: float = native.tau
        self.band: tuple[float, float] = (self.tau, 1.0 / self.tau)
        self.bootstrap: int = native.bootstrap
        self.confidence: float = native.confidence
        self.seed: int = native.seed
        self.resampling_unit: str = native.resampling_unit
        self.n_units: int = native.n_units
        self.undefined_resamples: int = native.undefined_resamples
        self.total_dose: float = native.total_dose
        self.caveat: str = CAVEAT
        # power of the band check (computed in the core)
        self.check_to_reference: str = native.check_to_reference
        self.check_to_overall: str = native.check_to_overall
        self.informative_to_reference: bool = native.informative_to_reference
        self.informative_to_overall: bool = native.informative_to_overall
        self.mde_normalised_to_reference: float = native.mde_normalised_to_reference
        self.mde_normalised_to_overall: float = native.mde_normalised_to_overall

    def check(self, compare_to: str = "reference") -> str:
        """``"pass"``, ``"fail"`` or ``"not_informative"``: the band check with its power."""
        if compare_to not in ("reference", "overall"):
            raise param_error("compare_to", f"must be 'reference' or 'overall', got {compare_to!r}")
        return self.check_to_reference if compare_to == "reference" else self.check_to_overall

    def detectable_ratios(self, compare_to: str = "reference") -> tuple[float, float]:
        """The (below, above) ratios nearest parity detectable for the worst-measured group."""
        self.check(compare_to)
        bg = self.by_group
        if compare_to == "reference":
            bg = bg.drop(index=self.reference)
        below = bg[f"detectable_ratio_to_{compare_to}_below"]
        above = bg[f"detectable_ratio_to_{compare_to}_above"]
        if below.isna().any() or above.isna().any() or bg.empty:
            return (float("nan"), float("nan"))
        return (float(below.min()), float(above.max()))

    def power_statement(self, compare_to: str = "reference") -> str:
        """The power of the band check in words."""
        status = self.check(compare_to)
        against = "the overall rate" if compare_to == "overall" else f"{self.reference}"
        below, above = self.detectable_ratios(compare_to)
        lo, hi = self.band
        if not (np.isfinite(below) and np.isfinite(above)):
            power = ("its power is unknown (no bootstrap, or a ratio without an interval), so a result inside the "
                     "band is not evidence of parity")
        else:
            power = (f"the smallest ratios to {against} this budget and sample could tell apart from parity are "
                     f"{below:.2f} below and {above:.2f} above (band {lo:.2f}–{hi:.2f})")
        label = {"pass": "pass", "fail": "fail", "not_informative": "not informative at this budget"}[status]
        return f"{label}: {power}."

    # ---------------------------------------------------------------- MetricFrame-like
    def group_max(self) -> float:
        return float(self.by_group["rate"].max())

    def group_min(self) -> float:
        return float(self.by_group["rate"].min())

    def difference(self, method: str = "between_groups") -> float:
        """Largest difference of exposure per capita: ``between_groups`` (max − min, as
        fairlearn), ``to_overall`` (max |E_g − E|) or ``to_reference`` (max |E_g − E_ref|)."""
        r = self.by_group["rate"]
        if method == "between_groups":
            return float(r.max() - r.min())
        if method == "to_overall":
            return float((r - self.overall).abs().max())
        if method == "to_reference":
            return float((r - r[self.reference]).abs().max())
        raise param_error("method", f"must be one of {_METHODS}, got {method!r}")

    def ratio(self, method: str = "between_groups") -> float:
        """Smallest ratio of exposure per capita, ≤ 1: ``between_groups`` (min / max, as
        fairlearn), ``to_overall`` (min over groups of min(E_g/E, E/E_g)) or ``to_reference``."""
        r = self.by_group["rate"].to_numpy()
        if method == "between_groups":
            return float(r.min() / r.max()) if r.max() > 0 else float("nan")
        if method in ("to_overall", "to_reference"):
            base = self.overall if method == "to_overall" else float(self.by_group["rate"][self.reference])
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.minimum(r / base, base / r)
            return float(np.nanmin(q))
        raise param_error("method", f"must be one of {_METHODS}, got {method!r}")

    @property
    def ci(self) -> pd.DataFrame:
        """Bootstrap intervals of the rate and the ratios, one row per group."""
        cols = [c for c in self.by_group.columns if c.endswith("_low") or c.endswith("_high")]
        return self.by_group[cols]

    @property
    def outside_band(self) -> list[str]:
        """Groups whose point ratio to the reference lies outside [τ, 1/τ]."""
        return [g for g, v in self.by_group["verdict"].items() if v in ("above", "below")]

    @property
    def verdict(self) -> str:
        out = self.outside_band
        lo, hi = self.band
        if not out:
            return f"every group's exposure ratio to {self.reference} lies within [{lo:.2f}, {hi:.2f}]"
        return f"outside [{lo:.2f}, {hi:.2f}] relative to {self.reference}: " + ", ".join(
            f"{g} ({self.by_group.loc[g, 'ratio_to_reference']:.2f})" for g in out
        )

    # ---------------------------------------------------------------- export
    def summary(self) -> dict[str, Any]:
        """The section a policy checks (see :class:`placewise.AuditPolicy`)."""
        bg = self.by_group
        return jsonable(
            {
                "ratio_to_reference": bg["ratio_to_reference"].to_dict(),
                "ratio_to_overall": bg["ratio_to_overall"].to_dict(),
                "ratio_to_reference_ci": {
                    g: [bg.loc[g, "ratio_to_reference_low"], bg.loc[g, "ratio_to_reference_high"]] for g in bg.index
                },
                "ratio_to_overall_ci": {
                    g: [bg.loc[g, "ratio_to_overall_low"], bg.loc[g, "ratio_to_overall_high"]] for g in bg.index
                },
                "reference": self.reference,
                "tau": self.tau,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (NaN as None)."""
        n = self._native
        groups = [{k: getattr(r, k) for k in _GROUP_FIELDS} for r in n.groups]
        out: dict[str, Any] = jsonable({k: getattr(n, k) for k in _RESULT_FIELDS})
        out["groups"] = jsonable(groups)
        out["caveat"] = self.caveat
        return out

    def __repr__(self) -> str:
        return (
            f"DisparityAudit(overall={self.overall:.4g}, reference={self.reference!r} ({self.reference_rule}), "
            f"tau={self.tau}, bootstrap={self.bootstrap} over {self.resampling_unit}, seed={self.seed})\n"
            f"{self.by_group[['rate', 'exposure_share', 'population_share', 'ratio_to_reference', 'verdict']]}\n"
            f"{self.verdict}"
        )

    def _repr_html_(self) -> str:
        cols = ["population", "rate", "exposure_share", "population_share", "ratio_to_reference",
                "ratio_to_reference_low", "ratio_to_reference_high", "verdict", "verdict_ci"]
        if "protection" in self.by_group:
            cols.append("protection")
        table = self.by_group[cols].to_html(float_format=lambda v: f"{v:.3g}", na_rep="–")
        pct = int(round(self.confidence * 100))
        return (
            "<div><b>Disparity audit</b> — exposure per capita by group<br>"
            f"overall {self.overall:.4g} (CI {self.overall_ci[0]:.4g}–{self.overall_ci[1]:.4g}); reference "
            f"<b>{html.escape(self.reference)}</b> ({html.escape(self.reference_rule)}); band "
            f"[{self.band[0]:.2f}, {self.band[1]:.2f}]; {pct}% percentile bootstrap, {self.bootstrap} resamples of "
            f"{self.resampling_unit}, seed {self.seed}.{table}"
            f"<p>{html.escape(self.verdict)}</p><p><i>{html.escape(self.caveat)}</i></p></div>"
        )


class ConcentrationAudit:
    """Gini and Theil of exposure across cells (and areas), each next to its distribution
    under random allocation of the same budget.

    ``table`` has one row per level (``cells``, ``areas``) with ``gini``,
    ``baseline_gini_mean``, ``baseline_gini_low``/``_high``, ``gini_over_baseline`` and the
    same for Theil, plus ``share_random_at_least_as_concentrated`` (a one-sided Monte Carlo
    p-value of "no more concentrated than chance").
    """

    def __init__(self, native: _native.ConcentrationResult, area_ids: list[Any] | None = None) -> None:
        self._native = native
        self.area_ids = area_ids
        rows = {}
        for level, d in (("cells", native.cells), ("areas", native.areas)):
            if d is None:
                continue
            rows[level] = {
                "n": d.n,
                "gini": d.gini,
                "baseline_gini_mean": d.baseline_gini_mean,
                "baseline_gini_low": d.baseline_gini_ci[0],
                "baseline_gini_high": d.baseline_gini_ci[1],
                "gini_over_baseline": d.gini_over_baseline,
                "theil": d.theil,
                "baseline_theil_mean": d.baseline_theil_mean,
                "baseline_theil_low": d.baseline_theil_ci[0],
                "baseline_theil_high": d.baseline_theil_ci[1],
                "theil_over_baseline": d.theil_over_baseline,
                "share_random_at_least_as_concentrated": d.share_random_at_least_as_concentrated,
            }
        self.table: pd.DataFrame = pd.DataFrame.from_dict(rows, orient="index")
        self.budget: float = native.budget
        self.unit: float = native.unit
        self.quanta: int = native.quanta
        self.simulations: int = native.simulations
        self.confidence: float = native.confidence
        self.seed: int = native.seed
        self.baseline: str = native.baseline

    @property
    def cells(self) -> pd.Series:
        return self.table.loc["cells"]

    @property
    def areas(self) -> pd.Series | None:
        return self.table.loc["areas"] if "areas" in self.table.index else None

    def summary(self) -> dict[str, Any]:
        """The section a policy checks."""
        return jsonable(
            {
                "cells_gini_over_baseline": self.cells["gini_over_baseline"],
                "areas_gini_over_baseline": None if self.areas is None else self.areas["gini_over_baseline"],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        n = self._native
        out: dict[str, Any] = {k: getattr(n, k) for k in ("budget", "unit", "quanta", "simulations", "confidence", "seed", "baseline")}
        for level, d in (("cells", n.cells), ("areas", n.areas)):
            out[level] = None if d is None else {k: getattr(d, k) for k in _INEQUALITY_FIELDS}
        return jsonable(out)

    def __repr__(self) -> str:
        return f"ConcentrationAudit({self.baseline}; seed {self.seed})\n{self.table[['gini', 'baseline_gini_mean', 'gini_over_baseline', 'theil', 'baseline_theil_mean']]}"

    def _repr_html_(self) -> str:
        t = self.table.to_html(float_format=lambda v: f"{v:.3f}", na_rep="–")
        return (
            f"<div><b>Concentration audit</b><br>baseline: {html.escape(self.baseline)}; seed {self.seed}; "
            f"{int(round(self.confidence * 100))}% central interval.{t}"
            "<p><i>The raw Gini of a small budget is near 1 whatever the strategy; read the excess over the "
            "random-allocation baseline.</i></p></div>"
        )


__all__ = ["CAVEAT", "ConcentrationAudit", "DisparityAudit"]
