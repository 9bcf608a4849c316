"""placewise on Dask: many jurisdictions, replicates and parameter settings, same answers as one
process.

An optional extra: ``pip install 'placewise[dask]'``. Every function takes ``client=``: None
starts a local cluster sized to the machine, a :class:`dask.distributed.Client` or a scheduler
address uses that cluster (see :func:`cluster`). Tasks are pure functions of their inputs with
their seeds in their description, so results do not depend on the number of workers.

- :func:`audit_many`: the audit chain on each of many jurisdictions (:class:`Jurisdiction`,
  :func:`read_config`), failures reported by name; :func:`audit_one` is one of its tasks.
- :func:`backtest`: a rolling backtest as (origin × model) tasks; :func:`select`: model
  selection with one task per (origin × model × parameter) cell (:func:`cell_map`);
  :func:`feedback` / :func:`compare_mitigations`: slices of the replicates as tasks (replicate
  ``i`` draws from the stream ``(seed, i)``), merged with ``FeedbackResult.combine``;
  :func:`dask_map` gives the ``map=`` hook of placewise's sweep functions.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import dask.distributed  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "placewise.distributed needs Dask (dask.distributed), which is not installed: "
        "pip install 'placewise[dask]'"
    ) from e

from ._audit import SUMMARY_COLUMNS, AuditManyResult, JurisdictionResult, audit_many, audit_one, write_summary
from ._cluster import cluster, local_workers
from ._jurisdictions import Jurisdiction, load, read_config
from ._sweeps import backtest, cell_map, compare_mitigations, dask_map, feedback, select

__all__ = [
    "AuditManyResult", "Jurisdiction", "JurisdictionResult", "SUMMARY_COLUMNS", "audit_many", "audit_one", "backtest",
    "cell_map", "cluster", "compare_mitigations", "dask_map", "feedback", "load", "local_workers", "read_config", "select",
    "write_summary",
]
