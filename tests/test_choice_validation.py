"""Bad long-format input gives a ValueError naming the column and showing offending rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n, J = 40, 3
    df = pd.DataFrame(
        {
            "obs": np.repeat(np.arange(n), J),
            "alt": np.tile(np.arange(J), n),
            "x": rng.standard_normal(n * J),
            "av": 1,
        }
    )
    choice = rng.integers(0, J, n)
    df["chosen"] = (df["alt"].to_numpy() == np.repeat(choice, J)).astype(int)
    return df


def _fit(df, **kw):
    args = {"obs": "obs", "alt": "alt", "choice": "chosen", "avail": "av"} | kw
    return MNL(features=["x"]).fit(df, **args)


def test_valid_frame_fits():
    assert _fit(_frame()).converged_


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"obs": "trip"}, r"obs='trip'"),
        ({"alt": "mode"}, r"alt='mode'"),
        ({"choice": "y"}, r"choice='y'"),
        ({"avail": "available"}, r"avail='available'"),
    ],
)
def test_unknown_column_names(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        _fit(_frame(), **kwargs)


def test_unknown_feature_column():
    with pytest.raises(ValueError, match=r"features='price'"):
        MNL(features=["x", "price"]).fit(_frame())


def test_two_chosen_alternatives():
    df = _frame()
    df.loc[(df.obs == 3), "chosen"] = 1
    with pytest.raises(ValueError, match=r"exactly one chosen available alternative[\s\S]*\n\s*\d+\s+3\s"):
        _fit(df)


def test_no_chosen_alternative():
    df = _frame()
    df.loc[(df.obs == 5), "chosen"] = 0
    with pytest.raises(ValueError, match=r"'chosen'.*exactly one"):
        _fit(df)


def test_chosen_alternative_unavailable():
    df = _frame()
    df.loc[(df.obs == 7) & (df.chosen == 1), "av"] = 0
    with pytest.raises(ValueError, match=r"exactly one chosen available"):
        _fit(df)


def test_non_binary_choice_column():
    df = _frame()
    df.loc[4, "chosen"] = 2
    with pytest.raises(ValueError, match=r"choice column 'chosen' must hold only 0/1"):
        _fit(df)
    df.loc[4, "chosen"] = np.nan
    with pytest.raises(ValueError, match=r"choice column 'chosen'"):
        _fit(df)


def test_non_binary_availability():
    df = _frame().astype({"av": float})
    df.loc[2, "av"] = 0.5
    with pytest.raises(ValueError, match=r"availability column 'av'"):
        _fit(df)


def test_nan_in_used_feature():
    df = _frame()
    df.loc[10, "x"] = np.nan
    with pytest.raises(ValueError, match=r"feature column 'x' has 1 NaN") as info:
        _fit(df)
    assert "10" in str(info.value)  # the offending row is shown


def test_nan_in_unavailable_row_is_ignored():
    df = _frame()
    row = df.index[(df.obs == 2) & (df.chosen == 0)][0]
    df.loc[row, ["x", "av"]] = [np.nan, 0]
    assert _fit(df).converged_


def test_non_numeric_feature():
    df = _frame()
    df["x"] = df["x"].astype(object)
    df.loc[0, "x"] = "cheap"
    with pytest.raises(ValueError, match=r"feature column 'x' must be numeric"):
        _fit(df)


def test_single_alternative_observation():
    df = _frame()
    df = df[~((df.obs == 9) & (df.chosen == 0))]
    with pytest.raises(ValueError, match=r"fewer than 2 available alternative"):
        _fit(df)


def test_single_available_alternative_observation():
    df = _frame()
    df.loc[(df.obs == 9) & (df.chosen == 0), "av"] = 0
    with pytest.raises(ValueError, match=r"in 'obs' have fewer than 2"):
        _fit(df)


def test_duplicated_pairs():
    df = _frame()
    df = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(ValueError, match=r"\('obs', 'alt'\) must identify rows"):
        _fit(df)


def test_missing_ids():
    df = _frame()
    df["alt"] = df["alt"].astype(float)
    df.loc[3, "alt"] = np.nan
    with pytest.raises(ValueError, match=r"id column 'alt' has missing values"):
        _fit(df)


def test_empty_and_not_a_frame():
    with pytest.raises(ValueError, match="empty"):
        _fit(_frame().iloc[:0])
    with pytest.raises(ValueError, match="DataFrame"):
        MNL(features=["x"]).fit(_frame().to_numpy())


def test_bad_specification():
    with pytest.raises(ValueError, match=r"reference=7"):
        MNL(features=["x"], reference=7).fit(_frame(), avail="av")
    with pytest.raises(ValueError, match=r"features_by_alt names alternative\(s\) \[9\]"):
        MNL(features=["x"], features_by_alt={9: ["x"]}).fit(_frame(), avail="av")


def test_predict_rejects_unknown_alternative_and_uses_fit_columns():
    df = _frame()
    m = _fit(df)
    p = m.predict_proba(df)  # obs/alt/avail remembered from fit
    np.testing.assert_allclose(p.groupby(df.obs).sum(), 1.0)
    bad = df.copy()
    bad.loc[0, "alt"] = 5
    with pytest.raises(ValueError, match=r"alternative column 'alt' holds ids unknown"):
        m.predict_proba(bad)
    with pytest.raises(ValueError, match=r"features='x'"):
        m.predict_proba(df.drop(columns="x"))


def test_bad_weights():
    with pytest.raises(ValueError, match="weights"):
        _fit(_frame(), weights=np.ones(3))
