"""Agreement with Biogeme on Swissmetro (the classic logit of Biogeme's example b01logit).

Specification (Bierlaire's example): alternatives 1 = TRAIN, 2 = SM (reference),
3 = CAR; ``V_TRAIN = ASC_TRAIN + B_TIME TRAIN_TT/100 + B_COST TRAIN_CO (GA == 0)/100``,
``V_SM = B_TIME SM_TT/100 + B_COST SM_CO (GA == 0)/100``,
``V_CAR = ASC_CAR + B_TIME CAR_TT/100 + B_COST CAR_CO/100``; TRAIN and CAR available
when ``*_AV`` and ``SP != 0``; sample ``PURPOSE in {1, 3}`` and ``CHOICE != 0``
(6,768 observations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL

pytestmark = pytest.mark.realdata

ALTS = {1: "TRAIN", 2: "SM", 3: "CAR"}


def _sample(swissmetro: pd.DataFrame) -> pd.DataFrame:
    df = swissmetro
    return df[df["PURPOSE"].isin([1, 3]) & (df["CHOICE"] != 0)].reset_index(drop=True)


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    """Wide Swissmetro -> long format with scaled time and GA-adjusted cost."""
    parts = []
    for code, name in ALTS.items():
        cost = wide[f"{name}_CO"] * ((wide["GA"] == 0) if name != "CAR" else 1)
        av = wide[f"{name}_AV"] * ((wide["SP"] != 0) if name != "SM" else 1)
        parts.append(
            pd.DataFrame(
                {
                    "obs": wide.index,
                    "alt": code,
                    "chosen": (wide["CHOICE"] == code).astype(int),
                    "av": (av != 0).astype(int),
                    "time": wide[f"{name}_TT"] / 100.0,
                    "cost": cost / 100.0,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _biogeme_estimates(wide: pd.DataFrame, workdir) -> tuple[dict[str, float], float, dict[str, float]]:
    biogeme = pytest.importorskip("biogeme")
    import biogeme.biogeme as bio
    from biogeme.database import Database
    from biogeme.expressions import Beta, Variable
    from biogeme.models import loglogit
    from biogeme.parameters import Parameters

    del biogeme
    v = Variable
    asc_car = Beta("ASC_CAR", 0, None, None, 0)
    asc_train = Beta("ASC_TRAIN", 0, None, None, 0)
    b_time = Beta("B_TIME", 0, None, None, 0)
    b_cost = Beta("B_COST", 0, None, None, 0)
    ga0 = v("GA") == 0
    utilities = {
        1: asc_train + b_time * v("TRAIN_TT") / 100 + b_cost * v("TRAIN_CO") * ga0 / 100,
        2: b_time * v("SM_TT") / 100 + b_cost * v("SM_CO") * ga0 / 100,
        3: asc_car + b_time * v("CAR_TT") / 100 + b_cost * v("CAR_CO") / 100,
    }
    sp = v("SP") != 0
    avail = {1: v("TRAIN_AV") * sp, 2: v("SM_AV"), 3: v("CAR_AV") * sp}
    database = Database("swissmetro", wide.copy())
    # Parameters() in memory: no biogeme.toml is read or written; no report files.
    model = bio.BIOGEME(
        database,
        loglogit(utilities, avail, v("CHOICE")),
        parameters=Parameters(),
        generate_html=False,
        generate_yaml=False,
        save_iterations=False,
        calculating_second_derivatives="analytical",
        tolerance=1e-10,
    )
    model.model_name = "b01logit"
    results = model.estimate()
    return (
        results.get_beta_values(),
        float(results.final_loglikelihood),
        {name: results.get_parameter_std_err(name) for name in results.get_beta_values()},
    )


@pytest.fixture
def fast_biogeme_bhhh(monkeypatch):
    """Work around Biogeme 3.3's BHHH step, which compiles a jnp.stack of N arrays.

    After estimating, Biogeme 3.3 always computes the BHHH matrix as
    ``jnp.stack([jnp.outer(g, g) for g in per_observation_gradients])``: XLA compiles a
    6,768-operand concatenation, which took 60-100 s here. We replace that one method
    with the same quantity written as ``G^T G`` (G: per-observation gradients by
    ``jax.jacrev``); the estimates do not depend on it.
    """
    try:
        import jax
        import jax.numpy as jnp
        from biogeme.function_output import FunctionOutput
        from biogeme.jax_calculator import single_formula
    except ImportError:
        return
    cls = getattr(single_formula, "CompiledFormulaEvaluator", None)
    if cls is None or not hasattr(cls, "_evaluate_bhhh_only"):
        return

    def _bhhh(self, free_betas_values, use_jit):
        def per_obs(b):
            return self.sum_function(b, self.data_jax, self.draws_jax, self.random_variables_jax)[1]

        b = jnp.asarray(free_betas_values, dtype=jnp.float64)
        G = jax.jacrev(per_obs)(b)
        return FunctionOutput(
            function=float(jnp.sum(per_obs(b))),
            gradient=np.asarray(G.sum(axis=0)),
            hessian=None,
            bhhh=np.asarray(G.T @ G),
        )

    monkeypatch.setattr(cls, "_evaluate_bhhh_only", _bhhh)


def test_mnl_matches_biogeme_on_swissmetro(swissmetro, tmp_path, monkeypatch, fast_biogeme_bhhh):
    wide = _sample(swissmetro)
    assert len(wide) == 6768
    ours = MNL(features=["time", "cost"], reference=2, robust=True).fit(
        _long(wide), obs="obs", alt="alt", choice="chosen", avail="av"
    )
    monkeypatch.chdir(tmp_path)  # anything Biogeme writes stays out of the repository
    betas, loglik, std_errs = _biogeme_estimates(wide, tmp_path)

    names = {"ASC_TRAIN": "ASC_1", "ASC_CAR": "ASC_3", "B_TIME": "time", "B_COST": "cost"}
    for theirs, mine in names.items():
        assert ours.params_[mine] == pytest.approx(betas[theirs], abs=1e-4), theirs
    assert ours.loglik_ == pytest.approx(loglik, abs=1e-3)
    # published values of this example (Bierlaire, Biogeme b01logit)
    assert ours.loglik_ == pytest.approx(-5331.252, abs=1e-3)
    assert ours.converged_
    # Biogeme reports robust (sandwich) standard errors by default
    for theirs, mine in names.items():
        assert ours.robust_std_errors_[mine] == pytest.approx(std_errs[theirs], rel=1e-3), theirs
