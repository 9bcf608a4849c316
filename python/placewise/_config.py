"""The multi-jurisdiction configuration file shared by ``placewise audit-many`` and
``placewise audit targeting --config``: a TOML file with a ``[defaults]`` table and one
``[[jurisdiction]]`` table per jurisdiction, each with a unique ``name``; relative paths are
read from the config file's folder. Each command checks its own keys."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .exceptions import param_error

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def read_tables(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]], Path]:
    """``(defaults, jurisdictions, folder)`` of a config file. Errors name the config, the
    table and the key: a missing file, invalid TOML, an unknown table, no jurisdiction, a
    jurisdiction without a name or with the name of another."""
    p = Path(path)
    if not p.exists():
        raise param_error("config", f"no such file: {p}")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise param_error("config", f"{p} is not valid TOML: {e}") from e
    unknown = set(doc) - {"defaults", "jurisdiction"}
    if unknown:
        raise param_error(f"config: {sorted(unknown)[0]}", "unknown table; use [defaults] and [[jurisdiction]]")
    defaults = dict(doc.get("defaults", {}))
    entries = doc.get("jurisdiction", [])
    if not entries:
        raise param_error("config", f"{p} lists no [[jurisdiction]]")
    names: set[str] = set()
    for i, entry in enumerate(entries):
        name = entry.get("name")
        if not name:
            raise param_error(f"config: jurisdiction[{i}].name", "every jurisdiction needs a name")
        if name in names:
            raise param_error(f"config: jurisdiction[{i}].name", f"{name!r} is listed twice")
        names.add(name)
    return defaults, [dict(e) for e in entries], p.parent


def resolve(base: Path, v: Any) -> Any:
    """A relative path read from ``base`` (the config's folder); anything else unchanged."""
    return str((base / v).resolve()) if isinstance(v, str) and not os.path.isabs(v) else v
