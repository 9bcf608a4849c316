"""The exception hierarchy, and that every core error variant maps to its class."""

from __future__ import annotations

import pytest

import placewise as pw
from placewise import _native, exceptions as ex

CASES = {
    "InvalidParameter": (ex.InvalidParameterError, {"name": "bandwidth"}),
    "DataValidation": (ex.DataValidationError, {"row": 3, "column": "latitude"}),
    "EmptyInput": (ex.EmptyInputError, {"what": "incidents"}),
    "TooLarge": (ex.TooLargeError, {"requested": 10, "limit": 5}),
    "NotFitted": (ex.NotFittedError, {"what": "KDE"}),
    "NotConverged": (ex.NotConvergedError, {"iterations": 5}),
    "Infeasible": (ex.InfeasibleError, {"constraint": "group A"}),
    "PolicyViolation": (ex.PolicyViolation, {"checks": ["a", "b"]}),
    "LogVerification": (ex.LogVerificationError, {"record": 2}),
    "Io": (ex.PlacewiseIOError, {"filename": "x"}),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_core_errors_map_to_classes_with_attributes(kind: str) -> None:
    cls, attrs = CASES[kind]
    with pytest.raises(cls) as info:
        _native._raise_error(kind)
    assert isinstance(info.value, pw.PlacewiseError)
    for k, v in attrs.items():
        assert getattr(info.value, k) == v
    assert str(info.value)


def test_value_errors_are_value_errors() -> None:
    for cls in (ex.InvalidParameterError, ex.DataValidationError, ex.EmptyInputError, ex.TooLargeError, ex.InfeasibleError):
        assert issubclass(cls, ValueError)
        assert issubclass(cls, ex.PlacewiseError)
    assert issubclass(ex.EmptyInputError, ex.DataValidationError)
    assert issubclass(ex.NotFittedError, AttributeError)
    assert not issubclass(ex.PolicyViolation, ValueError)


def test_every_public_exception_is_exported() -> None:
    for name in ex.__all__:
        obj = getattr(ex, name)
        assert issubclass(obj, (ex.PlacewiseError, ex.PlacewiseWarning))


def test_version_comes_from_cargo() -> None:
    import re
    from pathlib import Path

    cargo = (Path(__file__).resolve().parents[2] / "Cargo.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', cargo, re.M).group(1) == pw.__version__
