"""The scikit-learn estimator contract shared by every model.

``__init__`` stores keyword parameters unmodified; ``fit(incidents, grid)`` validates, fits and
returns ``self``; fitted attributes end in ``_``; ``predict(at=...)`` returns a
:class:`~placewise.Surface`; using a model before ``fit`` raises :class:`NotFittedError`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from ..exceptions import NotConvergedError, NotFittedError, param_error


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


_REFIT = "_refit_on_unpickle"


def refit_on_unpickle(cls: type[Model]) -> type[Model]:
    """Makes a fitted ``cls`` pickle as its parameters and the inputs it was fitted on, refitted
    when unpickled — for models whose fitted state is a native object that does not pickle.

    It relies only on the public contract (``get_params``, ``fit(incidents, grid)``, and
    :class:`~placewise.NotConvergedError` carrying ``.partial``), not on what ``fit`` stores,
    so it survives changes to the model's internals. The fit must be deterministic (placewise's
    are: they draw no random numbers and do not depend on the thread count), so the copy
    predicts what the original predicts. A fit that did not converge (kept with
    ``on_not_converged="warn"``, or an error's ``.partial``) comes back as the same partial fit
    without warning again. The model holds a reference to its training inputs; an unfitted
    model pickles as usual.
    """
    fit = cls.__dict__["fit"]

    @functools.wraps(fit)
    def remembering_fit(self: Any, incidents: Any, grid: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            out = fit(self, incidents, grid, *args, **kwargs)
        except NotConvergedError as e:
            partial = getattr(e, "partial", None)
            if isinstance(partial, cls):
                setattr(partial, _REFIT, (incidents, grid, args, kwargs))
            raise
        setattr(self, _REFIT, (incidents, grid, args, kwargs))
        return out

    def __getstate__(self: Any) -> dict[str, Any]:
        inputs = self.__dict__.get(_REFIT)
        if not getattr(self, "fitted_", False) or inputs is None:
            return {k: v for k, v in self.__dict__.items() if k != _REFIT}
        return {_REFIT: (self.get_params(), inputs)}

    def __setstate__(self: Any, state: dict[str, Any]) -> None:
        if _REFIT not in state:
            self.__dict__.update(state)
            return
        params, inputs = state[_REFIT]
        incidents, grid, args, kwargs = inputs
        strict = {**params, "on_not_converged": "raise"} if "on_not_converged" in params else params
        model: Any = cls(**strict)
        try:
            model.fit(incidents, grid, *args, **kwargs)
        except NotConvergedError as e:
            model = e.partial
        self.__dict__.update(model.__dict__)
        self.set_params(**params)

    cls.fit = remembering_fit  # type: ignore[attr-defined]
    cls.__getstate__ = __getstate__  # type: ignore[method-assign]
    cls.__setstate__ = __setstate__  # type: ignore[attr-defined]
    return cls
