"""scikit-learn's estimator protocol, written once for the package's estimators.

An estimator stores its constructor's arguments unchanged, as attributes of the
same names, checks them when it fits, and ends what it learns with an
underscore (``history_``, ``best_P_``). :class:`Estimator` then gives it
``get_params`` and ``set_params``, so that ``sklearn.base.clone`` and
scikit-learn's model-selection tools work on it
(:class:`~brianmodes.train.Trainer`, :class:`~brianmodes.data.ModeFit`).
"""

from __future__ import annotations

import inspect

from .errors import BrianModesError


class Estimator:
    """``get_params`` and ``set_params`` from the constructor's signature (scikit-learn's protocol)."""

    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True):
        """The constructor's arguments as given (``sklearn.base.clone`` works on the estimator).

        Examples
        --------
        >>> from brianmodes.train import Trainer
        >>> Trainer(n_batches=3, lr=1e-2).get_params()["lr"]
        0.01
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Change constructor arguments (checked when the estimator fits); returns the estimator.

        Examples
        --------
        >>> from brianmodes.train import Trainer
        >>> Trainer().set_params(n_batches=10).n_batches
        10
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise BrianModesError(f"{type(self).__name__} has no setting {name!r}; settings: "
                                      f"{', '.join(valid)}")
            setattr(self, name, value)
        return self
