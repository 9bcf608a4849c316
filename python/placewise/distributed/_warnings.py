"""Warnings raised inside a Dask task reach the caller, as they would in one process.

A worker's warnings otherwise go to that worker's standard error (a terminal for a local
cluster, a log file on a remote one) and the caller never sees them. Each task runs under
:func:`capturing`, which records every warning (all of them: the caller's own filters decide
what is shown) and returns them with the result; :func:`reissue` warns them again in the
caller's process, with their category and message.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Warned:
    """A task's result and the warnings it raised, as (category, message) pairs."""

    result: Any
    warnings: list[tuple[type[Warning], str]]


def capturing(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Warned:
    """Runs ``fn`` and records its warnings (on the worker)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return Warned(out, [(w.category, str(w.message)) for w in seen])


def reissue(part: Warned, prefix: str = "") -> Any:
    """Warns ``part``'s warnings again here (``prefix`` names the task) and returns its result."""
    for category, message in part.warnings:
        warnings.warn(prefix + message, category, stacklevel=3)
    return part.result
