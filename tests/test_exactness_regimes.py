"""`solve` is exact on badly scaled instances: same optimum as brute force, a valid bound,
a rule-abiding decision, "infeasible" only when nothing is feasible (issue 14).

Instances come from :func:`bundleopt.optimize.instances.stress_case` (numerical
regimes x rule families, uniform and personalised); the verdict from
:func:`~bundleopt.optimize.instances.check_exactness`, which compares with the
evaluator's brute force to 1e-6 relative. Every outcome but "ok" / "ok_infeasible"
fails the test with the case and the numbers. ``benchmarks/exactness_sweep.py`` runs
the same check on 10,000+ seeds; ``--replay SEED`` re-checks one of them.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from bundleopt.optimize.instances import (
    EXTRA_REGIMES,
    RULE_FAMILIES,
    STRESS_REGIMES,
    check_exactness,
    stress_case,
)

REGIMES = STRESS_REGIMES + EXTRA_REGIMES

PASS = ("ok", "ok_infeasible", "not_proved")  # not_proved: a true but weak claim
# No shrinking: the seed is an RNG seed, a smaller one is not a simpler instance.
QUICK = settings(max_examples=20, deadline=None, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
THOROUGH = settings(QUICK, max_examples=150)

seeds = st.integers(0, 10**6)
# Brute force's budget in the quick tests: personalised cases with rules that couple
# segments and more decisions than this are skipped ("too_large"), which keeps each
# check under about a second; the slow tests and the sweep use the default 2,000,000.
QUICK_DECISIONS = 20_000


def assert_exact(seed: int, regime: str, rule: str, personalised: bool,
                 max_decisions: int = QUICK_DECISIONS) -> None:
    case = stress_case(seed, regime=regime, rule=rule, personalised=personalised)
    res = check_exactness(case.scenario, max_decisions=max_decisions)
    assume(res.outcome != "too_large")
    assert res.outcome in PASS, f"{case.describe()}\n{res.summary()}"


@QUICK
@pytest.mark.parametrize("regime", REGIMES)
@given(seed=seeds, rule=st.sampled_from(RULE_FAMILIES), personalised=st.booleans())
def test_each_regime_matches_brute_force(regime: str, seed: int, rule: str, personalised: bool) -> None:
    assert_exact(seed, regime, rule, personalised)


@QUICK
@pytest.mark.parametrize("rule", RULE_FAMILIES)
@given(seed=seeds, regime=st.sampled_from(REGIMES), personalised=st.booleans())
def test_each_rule_family_matches_brute_force(rule: str, seed: int, regime: str, personalised: bool) -> None:
    assert_exact(seed, regime, rule, personalised)


@QUICK
@pytest.mark.parametrize("personalised", [False, True], ids=["uniform", "personalised"])
@given(seed=seeds, regime=st.sampled_from(REGIMES))
def test_mixed_rules_feasible_or_not_match_brute_force(personalised: bool, seed: int, regime: str) -> None:
    """Mixes of two to four families: the only source of infeasible scenarios."""
    assert_exact(seed, regime, "mixed", personalised)


# Found by the first sweep (benchmarks/exactness_sweep.py --seeds 0 1650) on the solver of
# commit e92c051: the first seed of each (outcome, regime) that failed. Seed -> what went
# wrong then; each case is stress_case(seed).
KNOWN = {
    4: "cut_off huge_v0/none: optimum 3.0e-8, profit 0, bound 0",
    13: "false_infeasible extreme_utility/cardinality, personalised (numerical trouble)",
    37: "false_infeasible huge_v0/bundles_per_product: 'bundles_per_product conflict'",
    102: "short_profit tiny_v0/stock, personalised: 4636.76 < 4639.89",
    108: "cut_off currency_units/stock: optimum 37.85, bound 8.86",
    133: "cut_off wide_utility/discount_band: optimum 6.25, bound 4.73",
    142: "solver_error mixed/discount_band: HiGHS 'optimal' without a feasible decision",
    163: "false_infeasible currency_units/mixed",
    175: "false_infeasible mixed/none, personalised",
    191: "rule_breaking huge_v0/max_bundles: a bundle offered with max_bundles=0",
    208: "cut_off mixed/bundles_per_product",
    256: "cut_off tiny_v0/cannibalisation_protected, personalised: optimum 9.10, bound 8.85",
    312: "objective_mismatch huge_v0/fairness",
    387: "cut_off extreme_utility/margin_rate_overall, personalised: optimum 6.1e-11, bound 0",
    417: "rule_breaking mixed/cannibalisation: protected p0 standalone share 0",
    802: "objective_mismatch mixed/discount_band: objective twice the profit",
    927: "objective_mismatch tiny_v0/stock: objective 2.52, exact profit 0",
    1124: "rule_breaking extreme_utility/discount_band: min_bundle_discount broken",
    1212: "objective_mismatch extreme_utility/margin_rate_overall",
    1376: "rule_breaking wide_utility/margin_rate_overall: rate 0.6639 < 0.6657",
    1484: "false_feasible mixed/mixed: empty menu returned, cannibalisation floor broken",
    1596: "objective_mismatch wide_utility/no_arbitrage",
    # found by the sweep after the conditioning and the certified answers
    1418: "cut_off mixed/cannibalisation_protected: rule tolerance of the MILP stricter than the evaluator's",
    2226: "cut_off huge_v0/cannibalisation gamma=0: optimum 0.835, bound 0.204 (exact rule row)",
    1000215: "cut_off mixed_at_equality: L' = 1/(v0 + total - v_o) lost the other offers to cancellation",
    8572: "solver_error tiny_v0/mixed: one solve infeasible, the other's decision broke a rule",
}


@pytest.mark.parametrize("seed", sorted(KNOWN))
def test_sweep_failures_replay_exact(seed: int) -> None:
    case = stress_case(seed)
    res = check_exactness(case.scenario)
    assert res.outcome in PASS, f"{case.describe()}\n{res.summary()}\n(first seen: {KNOWN[seed]})"


@pytest.mark.slow
@THOROUGH
@pytest.mark.parametrize("regime", REGIMES)
@given(seed=seeds, rule=st.sampled_from(RULE_FAMILIES), personalised=st.booleans())
def test_each_regime_matches_brute_force_thoroughly(regime: str, seed: int, rule: str,
                                                    personalised: bool) -> None:
    assert_exact(seed, regime, rule, personalised, max_decisions=2_000_000)


@pytest.mark.slow
@pytest.mark.parametrize("block", range(10))
def test_every_regime_rule_pair_on_consecutive_seeds(block: int) -> None:
    """Seeds 165 b .. 165 (b + 1) - 1 hold every (regime, rule) pair once."""
    failing = []
    for seed in range(165 * block, 165 * (block + 1)):
        case = stress_case(seed)
        res = check_exactness(case.scenario)
        if res.outcome not in (*PASS, "too_large"):
            failing.append(f"{case.describe()}: {res.summary()}")
    assert not failing, f"{len(failing)} of 165 cases wrong:\n" + "\n".join(failing[:20])
