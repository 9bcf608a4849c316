from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("PLACEWISE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "chicago_agg_assault_2010_2019").exists():
        pytest.skip(f"full data sets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def chicago():
    import placewise as pw

    return pw.datasets.load_chicago(cell_size=150)
