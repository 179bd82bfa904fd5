"""Price windows of the fairness rule (optimize/fair_windows.py): the windows, the
cut on the bound, the search (formulations/coupled_decomposition.md, "Fairness")."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bundleopt.optimize.fair_windows import (
    anchors_of,
    price_windows,
    search_windows,
    segment_menus,
    spread_excess,
    window_cut,
    window_mask,
)
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import NOT_OFFERED


def test_price_windows_are_the_maximal_ratio_windows() -> None:
    prices = np.array([[1.0, 1.05, 1.1, 1.3, np.nan]])
    mask = np.isfinite(prices)
    win = price_windows(prices, mask, 0.1)
    kept = {tuple(np.flatnonzero(w)) for w in win[0] if w.any()}
    # anchored at 1.0: {1.0, 1.05, 1.1}; at 1.05: {1.05, 1.1} (inside the first: dropped);
    # at 1.1: {1.1} dropped; at 1.3: {1.3}
    assert kept == {(0, 1, 2), (3,)}
    assert not win[0, 4].any()
    # the evaluator's tolerance widens the window only by 1e-9
    edge = np.array([[1.0, 1.1 * (1 + 5e-10)]])
    assert price_windows(edge, np.ones((1, 2), bool), 0.1).any(axis=1).sum() == 2
    assert price_windows(edge, np.ones((1, 2), bool), 0.1, rtol=1e-9)[0, 0].all()


def test_spread_excess_and_anchors() -> None:
    prices = np.array([[1.0, 1.05, 1.3], [2.0, 2.5, 3.0]])
    win = price_windows(prices, np.ones((2, 3), bool), 0.1)
    fair = np.array([[0, NOT_OFFERED], [1, NOT_OFFERED]])
    assert spread_excess(prices, fair, 0.1) <= 0
    anchors = anchors_of(prices, fair, win)
    assert anchors[1] == -1 and window_mask(win, anchors)[0, :2].all()
    unfair = np.array([[0, 0], [2, 0]])
    assert spread_excess(prices, unfair, 0.1) == pytest.approx(1.3 / 1.1 - 1)


def _all_window_values(sc, reward, mask, win, cap):
    anchors = [[a for a in range(win.shape[1]) if win[o, a].any()] for o in range(sc.n_offers)]
    for choice in itertools.product(*anchors):
        a = np.array(choice)
        yield a, segment_menus(sc.v, sc.v0, reward, window_mask(win, a), cap)[0]


@pytest.mark.parametrize("cap", [None, 2])
def test_window_cut_bounds_every_window_choice_and_cuts(cap: int | None) -> None:
    """``U - cut`` is above the exact value of every window vector (enumerated), and
    below ``U`` (the relaxation) on these instances where the spread binds; the search
    finds the best window vector."""
    cuts = []
    for seed in range(6):
        sc = random_instance(4, 3, 5, personalised=True, seed=seed, sensitivity=(0.5, 6.0))
        mask = np.isfinite(sc.prices)
        reward = sc.weights[:, None, None] * sc.market_size * (sc.prices - sc.costs[:, None])[None]
        win = price_windows(sc.prices, mask, 0.05)
        upper, cut = window_cut(sc.v, sc.v0, reward, mask, win, cap)
        values = dict((a.tobytes(), val) for a, val in _all_window_values(sc, reward, mask, win, cap))
        top = max(values.values())
        assert top <= upper - cut + 1e-12
        cuts.append(cut / upper)
        anchors, value, _ = search_windows(sc.v, sc.v0, reward, mask, win, cap)
        assert value == pytest.approx(values[anchors.tobytes()], rel=1e-12)
        assert value >= top * (1 - 1e-3)
    assert max(cuts) > 1e-3


def test_fair_decomposition_keeps_a_deadline() -> None:
    """A deadline already close: the fair decomposition stops early with a valid bound
    (at least the plan's profit) and, when it has a plan, a fair one."""
    import time

    from bundleopt.optimize.coupled import solve_coupled
    from bundleopt.optimize.evaluation import evaluate
    from bundleopt.scenario import Constraints

    sc = random_instance(300, 8, 10, personalised=True, seed=4,
                         constraints=Constraints(max_price_spread=0.05, min_margin_rate=0.62))
    t0 = time.perf_counter()
    res = solve_coupled(sc, deadline=t0 + 0.05)
    assert time.perf_counter() - t0 < 5.0
    if res.decision is not None:
        ev = evaluate(sc, res.decision)
        assert ev.feasible, ev.violations
        assert res.bound >= res.profit * (1 - 1e-9)
