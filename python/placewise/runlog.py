"""Tamper-evident run log: an append-only JSON Lines file, each record chained to the one
before by SHA-256.

Each line is ``{"hash": <SHA-256 of the record's bytes>, "record": {...}}``; the record holds
``index``, ``prev`` (the previous record's hash), ``library_version``, ``logged_at_unix_s`` and
what the caller logs — by convention the digests of the inputs and outputs (see
:func:`make_record`), the parameters, the seed, the audit summary and any policy override.
:meth:`RunLog.verify` names the first bad record: any changed, removed, inserted or reordered
record, and a torn last record left by a crash mid-write, which :meth:`RunLog.append` refuses
to build on (:meth:`RunLog.repair` moves it aside). The chain detects tampering; it cannot
prevent a rewrite of the whole file, so keep the head digest (``verify().head``) elsewhere too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _native
from ._jsonable import dumps, jsonable
from .exceptions import InvalidParameterError


@dataclass(frozen=True)
class LogVerification:
    """A log that verified: how many records, and the last record's hash (the head)."""

    records: int
    head: str


class RunLog:
    """An append-only, hash-chained JSONL run log at ``path`` (created on the first append).

    >>> import placewise as pw, tempfile, os
    >>> log = pw.RunLog(os.path.join(tempfile.mkdtemp(), "runs.jsonl"))
    >>> _ = log.append({"seed": 0, "params": {"k": 40}})
    >>> log.verify().records
    1
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._native = _native.RunLog(self.path)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Verifies the chain, then appends ``record`` (JSON-able; NaN is stored as null) with one
        write and an fsync. Returns ``{"index", "hash", "record"}`` as stored. Raises
        ``LogVerificationError`` when the existing log does not verify (including a torn last
        record), ``InvalidParameterError`` for a record that is not a mapping or sets a key the
        log writes itself (index, prev, library_version, logged_at_unix_s)."""
        if not isinstance(record, Mapping):
            raise InvalidParameterError(f"invalid parameter `record`: expected a dict, got {type(record).__name__}")
        try:
            text = dumps(record)
        except TypeError as e:
            raise InvalidParameterError(f"invalid parameter `record`: not JSON-serialisable ({e})") from None
        out: dict[str, Any] = json.loads(self._native.append(text))
        return out

    def verify(self) -> LogVerification:
        """Checks every record; raises ``LogVerificationError`` (``.record``: 0-based index of the
        first bad record, ``.reason``) or returns the record count and head hash."""
        n, head = self._native.verify()
        return LogVerification(records=n, head=head)

    def records(self) -> list[dict[str, Any]]:
        """The records, after verifying the chain (raises like :meth:`verify`)."""
        out: list[dict[str, Any]] = json.loads(self._native.records())
        return out

    def repair(self) -> int:
        """Moves a torn last record (from a crash mid-write) to ``<path>.torn``; returns the bytes
        moved (0 if the log was not torn). Other damage is left for :meth:`verify` to report."""
        return int(self._native.repair())

    def __len__(self) -> int:
        return self.verify().records

    def __repr__(self) -> str:
        return f"RunLog({self.path!r})"


def hash_incidents(incidents: Any) -> str:
    """SHA-256 of an incidents table's content (coordinates, times, categories, origins, weights)."""
    return _native.hash_incidents(incidents._native)


def hash_array(values: Any, tag: str = "array") -> str:
    """SHA-256 of a float array's shape and values (C order), under ``tag``."""
    a = np.asarray(values, dtype=np.float64)
    return _native.hash_f64_array(tag, list(a.shape), np.ascontiguousarray(a.ravel()))


def hash_population(population: Any) -> str:
    """SHA-256 of a population: group names, grid geometry and counts per cell and group."""
    grid = population.grid
    meta = {"groups": [str(g) for g in population.groups], "grid": [grid.nx, grid.ny, grid.cell_size, list(grid.extent)]}
    return _native.hash_json(dumps({"meta": meta, "counts": hash_array(population.counts, "population")}))


def hash_params(params: Any) -> str:
    """SHA-256 of JSON-able parameters in canonical form (key order does not matter)."""
    try:
        return _native.hash_json(dumps(params))
    except TypeError as e:
        raise InvalidParameterError(f"invalid parameter `params`: not JSON-serialisable ({e})") from None


def hash_any(obj: Any) -> str:
    """The digest of an input or output by kind: Incidents, Population, Surface (values), an
    object with ``.dose`` (Allocation), an array, a string already a digest, or JSON-able
    parameters."""
    if isinstance(obj, str) and len(obj) == 64 and all(c in "0123456789abcdef" for c in obj):
        return obj
    if hasattr(obj, "_native") and hasattr(obj, "quality"):
        return hash_incidents(obj)
    if hasattr(obj, "counts") and hasattr(obj, "groups") and hasattr(obj, "grid"):
        return hash_population(obj)
    if hasattr(obj, "dose"):
        return hash_array(obj.dose, "dose")
    if hasattr(obj, "values") and hasattr(obj, "grid"):
        return hash_array(obj.values, "surface")
    if isinstance(obj, np.ndarray):
        return hash_array(obj)
    return hash_params(obj)


def make_record(
    *,
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
    params: Any = None,
    seed: int | None = None,
    audit: Any = None,
    override: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """A run-log record: the digests of ``inputs`` and ``outputs`` (see :func:`hash_any`), the
    parameters (stored and hashed), the seed, the audit summary and any override (a
    PolicyDecision or dict). Extra keywords are stored as given."""
    rec: dict[str, Any] = {
        "inputs": {k: hash_any(v) for k, v in (inputs or {}).items()},
        "outputs": {k: hash_any(v) for k, v in (outputs or {}).items()},
        "params": jsonable(params),
        "params_hash": hash_params(params),
        "seed": seed,
        "audit": jsonable(audit.summary() if hasattr(audit, "summary") else audit),
        "override": jsonable(override.to_dict() if hasattr(override, "to_dict") else override),
    }
    rec.update(jsonable(extra))
    return rec


__all__ = ["LogVerification", "RunLog", "hash_any", "hash_array", "hash_incidents", "hash_params",
           "hash_population", "make_record"]
