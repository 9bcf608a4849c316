"""One generator: the evaluation bootstrap and the feedback simulator draw from the Rust core's
streams, never from numpy's generator."""

from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest

import placewise as pw
from placewise import _native


def test_bootstrap_interval_is_seeded_per_task() -> None:
    v = np.arange(20, dtype=float) ** 1.5
    a = _native.bootstrap_mean_interval(v, 500, 0.9, 3, 0)
    assert a == _native.bootstrap_mean_interval(v, 500, 0.9, 3, 0)
    assert a != _native.bootstrap_mean_interval(v, 500, 0.9, 3, 1)
    assert a != _native.bootstrap_mean_interval(v, 500, 0.9, 4, 0)
    # a 90% interval of the mean lies inside the data's range and around the sample mean
    assert v.min() < a[0] < v.mean() < a[1] < v.max()
    with pytest.raises(pw.InvalidParameterError, match="confidence"):
        _native.bootstrap_mean_interval(v, 10, 1.5, 0, 0)
    with pytest.raises(pw.DataValidationError, match="values"):
        _native.bootstrap_mean_interval(np.array([1.0, np.nan]), 10, 0.9, 0, 0)


@pytest.mark.parametrize("module", ["placewise.evaluate", "placewise.audit.feedback"])
def test_no_numpy_generator(module: str) -> None:
    src = pathlib.Path(importlib.import_module(module).__file__ or "").read_text()
    assert "np.random" not in src and "default_rng" not in src
