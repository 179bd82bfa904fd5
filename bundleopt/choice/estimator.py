"""The base of the choice models: scikit-learn's estimator contract.

Constructor arguments are stored unchanged and are the estimator's parameters
(``get_params``/``set_params``, so ``sklearn.base.clone`` gives an equal unfitted copy);
what ``fit`` learns ends in ``_`` and exists only after a fit; using an unfitted model
raises :class:`sklearn.exceptions.NotFittedError` (a ``ValueError``) saying to call ``fit``.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from bundleopt.choice.spec import Specification


class ChoiceEstimator(BaseEstimator):
    """scikit-learn base of :class:`~bundleopt.choice.MNL` and the other choice models.

    A model counts as fitted once it has ``_fitted_attribute`` (which its ``fit`` sets
    among the last), so a fit that stopped with an error does not leave a usable model.
    """

    _fitted_attribute = "params_"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, self._fitted_attribute)

    def _check_fitted(self) -> None:
        """Raise ``NotFittedError`` unless fitted (scikit-learn's ``check_is_fitted``)."""
        check_is_fitted(self, msg="this %(name)s is not fitted yet: call fit(df, ...) first")

    def _spec(self) -> Specification:
        """The utility specification of a model with ``features``, ``asc``, ``reference``
        and ``features_by_alt`` parameters (MNL, latent class, mixed logit)."""
        return Specification.create(self.features, self.asc, self.reference, self.features_by_alt)
