"""The scikit-learn estimator contract shared by every model.

``__init__`` stores keyword parameters unmodified; ``fit(incidents, grid)`` validates, fits and
returns ``self``; fitted attributes end in ``_``; ``predict(at=...)`` returns a
:class:`~placewise.Surface`; using a model before ``fit`` raises :class:`NotFittedError`.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..exceptions import NotFittedError, param_error


class Model:
    """Base class: parameter introspection, cloning, repr and the fitted check."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind in kinds]

    def get_params(self) -> dict[str, Any]:
        """Parameters as given to ``__init__``."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> Model:
        names = self._param_names()
        for k, v in params.items():
            if k not in names:
                raise param_error(k, f"{type(self).__name__} has parameters {names}")
            setattr(self, k, v)
        return self

    def clone(self) -> Model:
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    @property
    def name(self) -> str:
        return type(self).__name__

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
