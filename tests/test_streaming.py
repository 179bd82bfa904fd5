"""StreamingMNL: chunked Parquet estimation equals the in-memory MNL fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL
from bundleopt.choice.parquet_source import iter_observation_chunks, padded_size
from bundleopt.choice.simulate import simulate_mnl
from bundleopt.choice.streaming import StreamingMNL


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """6000 observations, 4 alternatives, some unavailable; row groups cut observations."""
    df, truth = simulate_mnl(n_obs=6000, n_alts=4, n_features=2, seed=11, avail_prob=0.7)
    # keep only the available rows (absent pairs are unavailable) so observations have
    # different row counts and row groups of 997 rows cut through them
    df = df[df["available"] == 1].drop(columns="available").reset_index(drop=True)
    df["income"] = np.repeat(np.random.default_rng(1).normal(size=df["obs"].nunique()),
                             df.groupby("obs", sort=False).size().to_numpy())
    path = tmp_path_factory.mktemp("stream") / "choices.parquet"
    df.to_parquet(path, row_group_size=997)
    return df, truth, path


def test_chunks_hold_whole_observations_once(market):
    df, _, path = market
    chunks = list(iter_observation_chunks(path, ["obs", "alt", "chosen"], "obs", batch_rows=1001))
    assert len(chunks) > 10
    ids = [set(c["obs"]) for c in chunks]
    assert sum(len(s) for s in ids) == df["obs"].nunique()  # no observation in two chunks
    assert len(set().union(*ids)) == df["obs"].nunique()
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), df[["obs", "alt", "chosen"]])


@pytest.mark.parametrize("epochs", [0, 2])
def test_streaming_equals_in_memory_fit(market, epochs):
    df, truth, path = market
    full = MNL(features=["x0", "x1"]).fit(df)
    stream = StreamingMNL(features=["x0", "x1"], batch_rows=1500, epochs=epochs).fit(path)
    assert stream.converged_
    assert list(stream.params_.index) == list(full.params_.index)
    np.testing.assert_allclose(stream.params_, full.params_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(stream.std_errors_, full.std_errors_, rtol=1e-6)
    assert stream.loglik_ == pytest.approx(full.loglik_, rel=1e-10)
    assert stream.null_loglik_ == pytest.approx(full.null_loglik_, rel=1e-12)
    assert stream.n_obs_ == full.n_obs_ == 6000
    # estimates are near the truth (not only equal to each other)
    assert np.all(np.abs(stream.params_ - truth[stream.params_.index]) < 4 * stream.std_errors_)
    if epochs:
        n_chunks = len(stream.minibatch_loss_) // epochs
        assert n_chunks > 10
        # the minibatch phase makes progress: the last epoch's mean loss is below the first steps'
        assert stream.minibatch_loss_[-n_chunks:].mean() < stream.minibatch_loss_[:3].mean() - 0.05
    else:
        assert len(stream.minibatch_loss_) == 0
    # predictions are the in-memory model's
    np.testing.assert_allclose(stream.predict_proba(df.head(40)), full.predict_proba(df.head(40)), atol=1e-7)


def test_alternative_specific_terms_and_reference(market):
    df, _, path = market
    # two design columns and chunks of 1500 rows: the shapes already compiled above
    spec = {"features": ["x0"], "features_by_alt": {1: ["income"]}, "reference": 2}
    full = MNL(**spec).fit(df)
    stream = StreamingMNL(**spec, batch_rows=1500, epochs=0).fit(path)  # Newton from 0 alone
    assert list(stream.params_.index) == list(full.params_.index)
    np.testing.assert_allclose(stream.params_, full.params_, atol=1e-6, rtol=0)
    assert stream.loglik_ == pytest.approx(full.loglik_, rel=1e-10)


def test_padded_size():
    assert padded_size(1) == 1024
    assert padded_size(1024) == 1024
    assert padded_size(1025) == 2048
    assert padded_size(10, quantum=4) == 12


def test_user_errors(tmp_path, market):
    df, _, path = market
    with pytest.raises(ValueError, match="no such Parquet file"):
        StreamingMNL(features=["x0"]).fit(tmp_path / "nope.parquet")
    with pytest.raises(ValueError, match="unknown column.*features='price'"):
        StreamingMNL(features=["price"]).fit(path)
    with pytest.raises(ValueError, match="batch_rows"):
        StreamingMNL(features=["x0"], batch_rows=0).fit(path)
    # rows of an observation split apart in the file
    shuffled = df.sample(frac=1.0, random_state=0)
    bad_path = tmp_path / "shuffled.parquet"
    shuffled.to_parquet(bad_path)
    with pytest.raises(ValueError, match="contiguous"):
        StreamingMNL(features=["x0"], batch_rows=500).fit(bad_path)
    # a bad choice column is reported by the chunk's validation, naming the column
    bad = df.copy()
    bad.loc[5, "chosen"] = 2
    bad_path = tmp_path / "badchoice.parquet"
    bad.to_parquet(bad_path)
    with pytest.raises(ValueError, match="choice column 'chosen'"):
        StreamingMNL(features=["x0"], batch_rows=500, epochs=0).fit(bad_path)


def test_balanced_fast_path_equals_general_path_and_in_memory(tmp_path):
    """A balanced file sorted by obs takes the pandas-free path; its chunks equal the
    general pack_long path's, and the fit equals the in-memory MNL."""
    from bundleopt.choice.long_format import pack_long
    from bundleopt.choice.parquet_source import iter_observation_tables
    from bundleopt.choice.precision import float64

    df, _ = simulate_mnl(n_obs=5000, n_alts=4, n_features=2, seed=4)  # shapes as above: no new compile
    df["alt"] = df["alt"].astype("int16")
    path = tmp_path / "balanced.parquet"
    df.to_parquet(path, row_group_size=1000)
    spec = {"features": ["x0"], "features_by_alt": {2: ["x1"]}}
    model = StreamingMNL(**spec, batch_rows=1500)
    src = model.source(path)
    n_fast = 0
    for table in iter_observation_tables(path, ["obs", "alt", "chosen", "x0", "x1"], "obs", 1500):
        fast = src._pack_balanced(table)
        assert fast is not None
        n_fast += 1
        slow = pack_long(table.to_pandas(), obs="obs", alt="alt", columns=list(src.design), choice="chosen",
                         alt_ids=src.alt_ids)
        np.testing.assert_array_equal(fast.X, slow.X)
        np.testing.assert_array_equal(fast.choice, slow.choice)
        np.testing.assert_array_equal(fast.avail, slow.avail)
    assert n_fast >= 7
    stream = model.fit(path)
    full = MNL(**spec).fit(df)
    np.testing.assert_allclose(stream.params_, full.params_, atol=1e-6, rtol=0)
    # an irregular chunk (a missing row) falls back to the general path
    table = next(iter_observation_tables(path, ["obs", "alt", "chosen", "x0", "x1"], "obs", 1500))
    assert src._pack_balanced(table.slice(1)) is None
    with float64():  # _pack builds the JAX arrays; chunks() calls it in float64, as here
        assert src._pack(table.slice(1)).n_obs == src._pack(table).n_obs
