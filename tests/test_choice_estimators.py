"""The choice models as scikit-learn estimators, the ChoiceModel protocol, float64 scoped to fitting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from bundleopt.choice import MNL, ChoiceModel, LatentClassMNL, MixedLogit, TasteNet
from bundleopt.choice.simulate import simulate_mnl
from bundleopt.choice.streaming import StreamingMNL

ROOT = Path(__file__).resolve().parents[1]

# every constructor argument away from its default, so a lost or renamed parameter shows
NON_DEFAULT = {
    MNL: dict(features=["x0"], asc=False, reference=2, features_by_alt={1: ["x1"]}, robust=True, tol=1e-9,
              max_iter=77),
    LatentClassMNL: dict(n_classes=3, features=["x0"], membership=["inc"], asc=False, reference=2,
                         features_by_alt={1: ["x1"]}, n_starts=2, random_state=9, max_em_iter=11, em_tol=1e-4,
                         max_iter=33),
    MixedLogit: dict(features=["x0"], random={"x0": "lognormal"}, asc=False, reference=2, features_by_alt={1: ["x1"]},
                     n_draws=64, draws="sobol", seed=5, sd_starts=(0.5,), screen_draws=None, robust=True, max_iter=9,
                     block_elements=1024),
    TasteNet: dict(features=["p", "q"], customer_features=["inc"], price="p", hidden=(3, 2), asc=False, reference=2,
                   learning_rate=0.5, max_epochs=7, patience=2, validation=0.3, seed=4),
    StreamingMNL: dict(features=["x0"], asc=False, reference=2, features_by_alt={1: ["x1"]}, batch_rows=500,
                       epochs=3, learning_rate=0.1, decay_steps=9.0, tol=1e-9, max_newton=4, progress=True),
}
CLASSES = list(NON_DEFAULT)


def _learned(model: BaseEstimator) -> list[str]:
    return sorted(k for k in vars(model) if k.endswith("_") and not k.startswith("__"))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_clone_gives_an_equal_unfitted_estimator(cls) -> None:
    kwargs = NON_DEFAULT[cls]
    model = cls(**kwargs)
    assert isinstance(model, BaseEstimator)
    assert set(model.get_params()) == set(kwargs)  # every constructor argument is a parameter
    assert model.get_params() == kwargs
    copy = clone(model)
    assert copy is not model and type(copy) is cls and copy.get_params() == kwargs
    assert _learned(copy) == []
    fresh = cls().set_params(**kwargs)  # set_params round trip
    assert fresh.get_params() == kwargs
    assert repr(fresh).startswith(cls.__name__ + "(")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_unfitted_use_raises_not_fitted_error_saying_to_call_fit(cls) -> None:
    model = cls(**NON_DEFAULT[cls])
    df = pd.DataFrame({"obs": [0, 0], "alt": [0, 1], "chosen": [1, 0], "x0": [1.0, 2.0]})
    with pytest.raises(NotFittedError, match=rf"this {cls.__name__} is not fitted yet: call fit\(df, \.\.\.\) first"):
        model.predict_proba(df)
    assert issubclass(NotFittedError, ValueError)  # callers catching ValueError keep working
    assert _learned(model) == []


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    df, _ = simulate_mnl(n_obs=600, n_alts=3, n_features=2, seed=11)
    df["customer"] = df["obs"] // 4
    return df


@pytest.fixture(scope="module")
def fitted(market: pd.DataFrame) -> dict[str, object]:
    return {
        "MNL": MNL(features=["x0", "x1"]).fit(market),
        "LatentClassMNL": LatentClassMNL(n_classes=2, features=["x0", "x1"], n_starts=2, max_em_iter=30).fit(
            market, customer="customer"),
        "MixedLogit": MixedLogit(features=["x0", "x1"], random={"x0": "normal"}, n_draws=32, sd_starts=(0.5,),
                                 max_iter=50).fit(market, panel="customer"),
    }


@pytest.mark.parametrize("name", ["MNL", "LatentClassMNL", "MixedLogit"])
def test_fitted_models_satisfy_the_choice_model_protocol(fitted, name: str) -> None:
    model = fitted[name]
    assert isinstance(model, ChoiceModel)
    assert not isinstance(clone(model), ChoiceModel)  # unfitted: no spec_
    assert _learned(clone(model)) == [] and _learned(model)
    table = model.segment_coefficients()
    weights = model.segment_weights()
    assert list(table.columns) == model.spec_.param_names(model.alternatives_)
    assert weights.shape == (len(table),) and np.isclose(weights.sum(), 1.0) and (weights > 0).all()
    if name == "MNL":
        assert len(table) == 1 and np.allclose(table.iloc[0].to_numpy(), model.params_.to_numpy())
    if name == "LatentClassMNL":
        np.testing.assert_allclose(weights, model.shares_)


@pytest.mark.parametrize("name", ["MNL", "LatentClassMNL", "MixedLogit"])
def test_protocol_is_what_from_models_uses(fitted, name: str) -> None:
    """Scenario.from_models' segments and weights are the protocol's."""
    from bundleopt.choice import preference_weights
    from bundleopt.choice.protocol import ChoiceModel as Proto
    from bundleopt.scenario import Scenario

    model: Proto = fitted[name]
    prices = np.array([[0.5, 1.0], [0.8, 1.2]])
    sc = Scenario.from_models(model, [1, 2], prices, np.zeros(2), price_feature="x0", features={"x1": np.zeros(2)})
    np.testing.assert_allclose(sc.weights, model.segment_weights())
    assert sc.n_segments == len(model.segment_coefficients())
    if name != "MixedLogit":  # a mixed logit's weights come from its as_segments()
        v, _ = preference_weights(model, [1, 2], prices, price_feature="x0", features={"x1": np.zeros(2)})
        np.testing.assert_allclose(sc.v, v)


def test_failed_fit_leaves_the_model_unfitted(market: pd.DataFrame) -> None:
    model = LatentClassMNL(n_classes=2, features=["x0", "x1"], n_starts=1)
    with pytest.raises(ValueError, match="customer"):
        model.fit(market, customer="no_such_column")
    assert _learned(model) == []
    with pytest.raises(NotFittedError):
        model.segment_weights()


_SCRIPT = """
import sys
import jax, jax.numpy as jnp
import bundleopt.choice
from bundleopt.choice import MNL
from bundleopt.choice.simulate import simulate_mnl
from bundleopt.choice.streaming import StreamingMNL
print(jnp.ones(2).dtype)
df, _ = simulate_mnl(n_obs=800, n_alts=3, n_features=2, seed=4)
m = MNL(features=["x0", "x1"]).fit(df)
print(jnp.ones(2).dtype, jnp.asarray(1.5).dtype)
print(m.params_.dtype, m.predict_proba(df).dtype)
if "--global" in sys.argv:  # the old behaviour: the whole process in float64
    jax.config.update("jax_enable_x64", True)
    g = MNL(features=["x0", "x1"]).fit(df)
    print(float(abs(g.params_ - m.params_).max()), abs(g.loglik_ - m.loglik_))
"""


def test_import_and_fit_leave_the_process_in_float32_with_the_same_estimates() -> None:
    """float64 is scoped to the fit: a fresh array is float32 after importing bundleopt.choice
    and after fitting, and the estimates equal those of a process switched to float64."""
    out = subprocess.run([sys.executable, "-c", _SCRIPT, "--global"], capture_output=True, text=True, cwd=ROOT,
                         check=True, timeout=300).stdout.split("\n")
    assert out[0] == "float32"
    assert out[1] == "float32 float32"
    assert out[2] == "float64 float64"
    diff_params, diff_ll = (float(x) for x in out[3].split())
    assert diff_params < 1e-10 and diff_ll < 1e-10


def test_fit_inside_a_user_thread_is_float64_too(market: pd.DataFrame) -> None:
    """The scope is per call, so a fit in a worker thread still runs in float64."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        m = pool.submit(lambda: MNL(features=["x0", "x1"]).fit(market)).result()
    ref = MNL(features=["x0", "x1"]).fit(market)
    assert float(np.max(np.abs(m.params_ - ref.params_))) < 1e-10


class _TwoSegments:
    """A model from elsewhere: only the ChoiceModel members, no bundleopt base class."""

    def __init__(self, spec, alternatives) -> None:
        self.spec_ = spec
        self.alternatives_ = alternatives

    def segment_coefficients(self) -> pd.DataFrame:
        return pd.DataFrame({"ASC_1": [0.5, -0.5], "ASC_2": [0.0, 1.0], "x0": [-1.0, -2.0], "x1": [0.0, 0.0]})

    def segment_weights(self) -> np.ndarray:
        return np.array([0.25, 0.75])


def test_any_choice_model_feeds_from_models(fitted) -> None:
    """The protocol is the whole contract: a class with just its members builds a scenario."""
    from bundleopt.choice import DrawSegments, preference_weights, segment_weights
    from bundleopt.scenario import Scenario

    mnl = fitted["MNL"]
    other = _TwoSegments(mnl.spec_, mnl.alternatives_)
    assert isinstance(other, ChoiceModel) and isinstance(fitted["MixedLogit"].as_segments(), DrawSegments)
    assert isinstance(fitted["MixedLogit"].as_segments(), ChoiceModel)
    prices = np.array([[1.0, 2.0]])
    sc = Scenario.from_models(other, [1], prices, np.zeros(1), price_feature="x0", features={"x1": np.zeros(1)})
    np.testing.assert_allclose(sc.weights, [0.25, 0.75])
    np.testing.assert_allclose(sc.v[:, 0, :], np.exp([[0.5 - 1.0, 0.5 - 2.0], [-0.5 - 2.0, -0.5 - 4.0]]))
    np.testing.assert_allclose(segment_weights(other), [0.25, 0.75])
    v, v0 = preference_weights(other, [1, 2], np.array([[1.0], [1.0]]), price_feature="x0",
                               features={"x1": np.zeros(2)})
    np.testing.assert_allclose(v[:, 1, 0], np.exp([0.0 - 1.0, 1.0 - 2.0]))
    np.testing.assert_allclose(v0, [1.0, 1.0])
