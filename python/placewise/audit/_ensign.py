"""The Ensign et al. (2018) two-region urn: does retraining on patrol data run away?"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _check
from .. import _native
from .._jsonable import jsonable

if TYPE_CHECKING:
    import matplotlib.axes


class EnsignUrnResult:
    """Result of :func:`ensign_urn`.

    ``trajectories`` (runs, draws + 1): share of region A's balls after each day (column 0 is
    the prior share); ``final_shares``, ``visit_shares`` per run; ``truth`` = λA/(λA+λB);
    ``fixed_point`` the stable zero of the expected drift (None when every share is one);
    ``update_matrix`` the expected rows (a, b), (c, d) without the correction; ``verdict`` one of
    ``"runaway"`` (the stable fixed point is 0 or 1 though both regions have crime),
    ``"biased"`` (an interior fixed point away from the truth by more than ``tolerance``) or
    ``"converges"``.
    """

    def __init__(self, native: _native.EnsignUrnResult) -> None:
        self._native = native
        self.trajectories: np.ndarray = native.trajectories
        self.final_shares: np.ndarray = native.final_shares
        self.visit_shares: np.ndarray = native.visit_shares
        self.mean_final_share: float = native.mean_final_share
        self.truth: float = native.truth
        self.prior_share: float = native.prior_share
        self.update_matrix: np.ndarray = native.update_matrix
        self.fixed_point: float | None = native.fixed_point
        self.verdict: str = native.verdict
        self.mean_abs_error: float = native.mean_abs_error
        self.prior_abs_error: float = native.prior_abs_error
        self.tolerance: float = native.tolerance
        self.correction: bool = native.correction
        self.decay: float = native.decay
        #: ``"discovered"`` or ``"reported"``, or ``{"mixed": {"reported_share": w}}``.
        self.update: str | dict[str, dict[str, float]] = (
            native.update if native.reported_share is None else {"mixed": {"reported_share": native.reported_share}}
        )
        self.seed: int = native.seed
        self.runs: int = native.runs
        self.draws: int = native.draws

    def __reduce__(self) -> tuple[Any, ...]:
        return (EnsignUrnResult, (self._native,))

    def summary(self) -> dict[str, Any]:
        """The feedback section a policy checks."""
        return jsonable(
            {"verdict": self.verdict, "model": "ensign_urn", "truth": self.truth, "fixed_point": self.fixed_point,
             "mean_final_share": self.mean_final_share, "correction": self.correction}
        )

    def to_dict(self, trajectories: bool = False) -> dict[str, Any]:
        out = jsonable({
            k: getattr(self, k)
            for k in ("runs", "draws", "final_shares", "visit_shares", "mean_final_share", "truth", "prior_share",
                      "update_matrix", "fixed_point", "verdict", "mean_abs_error", "prior_abs_error", "tolerance",
                      "correction", "decay", "update", "seed")
        })
        if trajectories:
            out["trajectories"] = self.trajectories.tolist()
        return out

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """Median and 5–95 % band of region A's share over days, with the truth and fixed point."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        days = np.arange(self.trajectories.shape[1])
        lo, med, hi = np.percentile(self.trajectories, [5, 50, 95], axis=0)
        ax.fill_between(days, lo, hi, alpha=0.3, label="5–95 % of runs")
        ax.plot(days, med, label="median run")
        ax.axhline(self.truth, color="k", ls="--", label="truth λA/(λA+λB)")
        if self.fixed_point is not None:
            ax.axhline(self.fixed_point, color="r", ls=":", label="fixed point")
        ax.set_xlabel("day")
        ax.set_ylabel("share of patrols to A")
        ax.set_ylim(0, 1)
        ax.set_title(f"Ensign urn ({'corrected' if self.correction else 'uncorrected'}): {self.verdict}")
        ax.legend(loc="best", fontsize="small")
        return ax

    def __repr__(self) -> str:
        fp = "none (no drift)" if self.fixed_point is None else f"{self.fixed_point:.4f}"
        return (
            f"EnsignUrnResult(verdict={self.verdict!r}, truth={self.truth:.4f}, fixed_point={fp}, "
            f"mean_final_share={self.mean_final_share:.4f}, runs={self.runs}, draws={self.draws}, "
            f"correction={self.correction}, seed={self.seed})"
        )

    def _repr_html_(self) -> str:
        return f"<div><b>Ensign urn</b><pre>{html.escape(repr(self))}</pre></div>"


#: The Oakland figures of Ensign et al. (2018, §5), from Lum & Isaac's (2016) drug-crime data: the
#: two regions' daily crime rates and the urn's prior (the historical counts). Used by the demo
#: and the pipeline: ``ensign_urn(**ENSIGN_OAKLAND, seed=0)``.
ENSIGN_OAKLAND: dict[str, Any] = {"rates": (3.68511, 2.816466), "prior": (609, 379), "draws": 1000, "runs": 200}


def ensign_urn(
    rates: tuple[float, float] = (3.68511, 2.816466),
    prior: tuple[float, float] = (609, 379),
    draws: int = 1000,
    runs: int = 200,
    update: str = "discovered",
    reported_share: float = 0.5,
    decay: float = 0.0,
    correction: bool = False,
    tolerance: float = 0.02,
    seed: int = 0,
) -> EnsignUrnResult:
    """Simulates the two-region Pólya urn of Ensign et al. (2018, "Runaway Feedback Loops in
    Predictive Policing").

    Each day police go to region A with the urn's share of A; ``update`` says which incidents
    are added back: ``"discovered"`` (Poisson(λ_i) in the visited region only),
    ``"reported"`` (Poisson(λ_A) and Poisson(λ_B) every day) or ``"mixed"`` (a share
    ``reported_share`` of each region's incidents reported daily, the rest discovered).
    ``correction=True`` counts each discovered incident of region i with probability
    ∝ 1 − p_i (normalised so the larger acceptance is 1); ``decay`` forgets that share of the
    balls each day. Runs are parallel, each seeded from (``seed``, run), so results do not
    depend on the number of threads. The defaults are the paper's Oakland example.

    >>> import placewise as pw
    >>> pw.audit.ensign_urn(runs=20, seed=0).verdict
    'runaway'
    >>> pw.audit.ensign_urn(runs=20, seed=0, correction=True).verdict
    'converges'
    """
    native = _native.ensign_urn(
        (float(rates[0]), float(rates[1])),
        (float(prior[0]), float(prior[1])),
        draws=_check.integer("draws", draws, 0),
        runs=_check.integer("runs", runs, 0),
        update=str(update),
        reported_share=float(reported_share),
        decay=float(decay),
        correction=bool(correction),
        tolerance=float(tolerance),
        seed=_check.seed(seed),
    )
    return EnsignUrnResult(native)
