"""Safe tabular exports: CSV text that a spreadsheet cannot execute.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (OWASP, "CSV Injection"). Every CSV that
placewise writes goes through :func:`csv_text`, which prefixes such text cells with a single
quote so they are shown as text. Numeric columns are left as they are (``-1.5`` stays a
number); only text (object / string / category) cells are neutralised.
"""

from __future__ import annotations

import os

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are neutralised; the caller's
    frame is not changed."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).map(neutralise)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_text(frame: pd.DataFrame, path: str | os.PathLike[str] | None = None, **kwargs: object) -> str:
    """CSV of ``frame`` (``index=False`` unless given) with formula-like text neutralised;
    written to ``path`` when one is given. Returns the text."""
    kwargs.setdefault("index", False)
    # RFC 4180 line endings; with them a carriage return inside a cell is quoted, so it cannot
    # end the row early in a spreadsheet
    kwargs.setdefault("lineterminator", "\r\n")
    text = safe_frame(frame).to_csv(**kwargs)  # type: ignore[call-overload]
    if path is not None:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return str(text)


__all__ = ["FORMULA_PREFIXES", "neutralise", "safe_frame", "csv_text"]
