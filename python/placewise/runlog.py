"""Tamper-evident run log: an append-only JSON Lines file, each record chained to the one
before by SHA-256.

Each line is ``{"hash": <SHA-256 of the record's bytes>, "record": {...}}``; the record holds
``index``, ``prev`` (the previous record's hash), ``library_version``, ``logged_at_unix_s`` and
what the caller logs — by convention the digests of the inputs and outputs (see
:func:`make_record`), the parameters, the seed, the audit summary and any policy override.
:meth:`RunLog.verify` names the first bad record: any changed, removed, inserted or reordered
record, and a torn last record left by a crash mid-write, which :meth:`RunLog.append` refuses
to build on (:meth:`RunLog.repair` moves it to a quarantine file).

The chain alone cannot show that records were removed from its end or that the whole file was
rewritten consistently. Anchor it: keep ``(records, head)`` from :meth:`RunLog.verify` elsewhere
and pass them back (``verify(expected_head=..., expected_records=...)``), and/or sign
checkpoints with your own Ed25519 key (``RunLog(path, signing_key=..., checkpoint_every=N)`` or
:meth:`RunLog.checkpoint`) and check them with :meth:`RunLog.verify_signed` or
``placewise verify-log --public-key``. Appends are safe from many threads and processes at once
(a process-wide mutex and an advisory file lock). See ``docs/security.md``.
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
from .exceptions import InvalidParameterError, PlacewiseIOError, param_error


@dataclass(frozen=True)
class LogVerification:
    """A log that verified: how many records, the last record's hash (the head), how many
    checkpoint records it holds, and how many records the last *checked* signature covers (0
    unless signatures were checked)."""

    records: int
    head: str
    checkpoints: int = 0
    signed_records: int = 0


def _key_text(key: Any, name: str) -> str:
    """Key material as text: PEM or hex text, raw 32 bytes, or a path to a file holding either."""
    if isinstance(key, (bytes, bytearray)):
        if len(key) == 32:
            return bytes(key).hex()
        return bytes(key).decode("ascii", errors="replace")
    if isinstance(key, os.PathLike) or (isinstance(key, str) and not key.lstrip().startswith("-----")
                                        and not _is_hex64(key)):
        path = os.fspath(key)
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                return f.read()
        except OSError as e:
            raise PlacewiseIOError(f"could not read the key file {path}: {e.strerror or e}") from None
    if isinstance(key, str):
        return key
    raise param_error(name, f"expected a path, PEM text, 64 hex digits or 32 bytes, got {type(key).__name__}")


def _is_hex64(s: str) -> bool:
    t = s.strip()
    return len(t) == 64 and all(c in "0123456789abcdefABCDEF" for c in t)


class RunLog:
    """An append-only, hash-chained JSONL run log at ``path`` (created on the first append).

    ``signing_key`` with ``checkpoint_every=N``: after every N records a checkpoint record is
    appended holding an Ed25519 signature of the log's head by that key (a path to a PKCS#8
    PEM file, as ``openssl genpkey -algorithm ed25519`` writes, PEM text, or the 32-byte seed as
    bytes or hex). The key is yours; placewise never creates or stores one unless you call
    :func:`generate_signing_key`.

    >>> import placewise as pw, tempfile, os
    >>> log = pw.RunLog(os.path.join(tempfile.mkdtemp(), "runs.jsonl"))
    >>> _ = log.append({"seed": 0, "params": {"k": 40}})
    >>> log.verify().records
    1
    """

    def __init__(self, path: str | os.PathLike[str], signing_key: Any = None, checkpoint_every: int | None = None) -> None:
        self.path = os.fspath(path)
        key = None if signing_key is None else _key_text(signing_key, "signing_key")
        if checkpoint_every is not None:
            from ._check import integer

            checkpoint_every = integer("checkpoint_every", checkpoint_every, 1)
        self._native = _native.RunLog(self.path, key, checkpoint_every)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Verifies the chain, then appends ``record`` (JSON-able; NaN is stored as null) with one
        write and an fsync, holding the log's locks (safe from several threads and processes).
        Returns ``{"index", "hash", "record"}`` as stored. Raises ``LogVerificationError`` when
        the existing log does not verify (including a torn last record),
        ``InvalidParameterError`` for a record that is not a mapping or sets a key the log writes
        itself (index, prev, library_version, logged_at_unix_s, checkpoint)."""
        if not isinstance(record, Mapping):
            raise param_error("record", f"expected a dict, got {type(record).__name__}")
        try:
            text = dumps(record)
        except TypeError as e:
            raise param_error("record", f"not JSON-serialisable ({e})") from None
        out: dict[str, Any] = json.loads(self._native.append(text))
        return out

    def verify(self, expected_head: str | None = None, expected_records: int | None = None) -> LogVerification:
        """Checks every record; raises ``LogVerificationError`` (``.record``: 0-based index of the
        first bad record, ``.reason``) or returns the record count and head hash.

        With an anchor kept from an earlier verification, also checks that the log still holds
        at least ``expected_records`` records and that record ``expected_records - 1`` has hash
        ``expected_head`` (with only ``expected_head``: that some record has it). This catches
        records removed from the end and consistent rewrites, which the chain alone cannot."""
        if expected_records is not None:
            from ._check import integer

            expected_records = integer("expected_records", expected_records, 0)
        if expected_head is not None and not isinstance(expected_head, str):
            raise param_error("expected_head", f"expected a hex string, got {expected_head!r}")
        return LogVerification(*self._native.verify(expected_head, expected_records))

    def verify_signed(self, public_keys: Any) -> LogVerification:
        """Verifies the chain and every checkpoint's Ed25519 signature against ``public_keys``
        (one key or a list: paths to PEM files, PEM text or 64 hex digits). Raises
        ``LogVerificationError`` when there is no checkpoint, a checkpoint is signed by another
        key, or a signature does not verify. ``signed_records`` in the result is how many records
        the last checkpoint covers; later records rest on the chain alone."""
        keys = public_keys if isinstance(public_keys, (list, tuple)) else [public_keys]
        return LogVerification(*self._native.verify_signed([_key_text(k, "public_keys") for k in keys]))

    def checkpoint(self, signing_key: Any) -> dict[str, Any]:
        """Appends a signed checkpoint now (see the class docstring for key forms); returns it
        (``records``, ``head``, ``public_key``, ``signature``)."""
        out: dict[str, Any] = json.loads(self._native.checkpoint(_key_text(signing_key, "signing_key")))
        return out

    def records(self) -> list[dict[str, Any]]:
        """The records, after verifying the chain (raises like :meth:`verify`)."""
        out: list[dict[str, Any]] = json.loads(self._native.records())
        return out

    def repair(self) -> int:
        """Makes a damaged log usable again without deleting anything: everything from the first
        record that does not verify (a torn last line from a crash, a changed record and all
        records after it) is appended to :attr:`quarantine_path` and cut from the log, and a
        ``repair`` record (first bad record, reason, bytes moved and their SHA-256) is appended.
        Returns the bytes moved (0 when the log verifies)."""
        return int(self._native.repair())

    @property
    def quarantine_path(self) -> str:
        """Where :meth:`repair` moves damaged records: ``<path>.quarantine``."""
        return self._native.quarantine_path

    def __len__(self) -> int:
        return self.verify().records

    def __repr__(self) -> str:
        return f"RunLog({self.path!r})"


def generate_signing_key(path: str | os.PathLike[str]) -> str:
    """Creates a new Ed25519 key pair, **only when you call this**: writes the private key as
    PKCS#8 PEM to ``path`` (mode 0600, refusing to overwrite an existing file) and the public
    key to ``path + ".pub"``; returns the public key's path. Keep the private key away from the
    machine that writes the log if the log's writer is what you want to guard against."""
    p = os.fspath(path)
    private, public = _native.ed25519_key_pair_pem(os.urandom(32))
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise PlacewiseIOError(f"could not create the key file {p}: {e.strerror or e}") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(private)
    pub = p + ".pub"
    with open(pub, "w", encoding="ascii") as f:
        f.write(public)
    return pub


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
        raise param_error("params", f"not JSON-serialisable ({e})") from None


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


__all__ = ["LogVerification", "RunLog", "generate_signing_key", "hash_any", "hash_array", "hash_incidents", "hash_params",
           "hash_population", "make_record"]
