"""Hand a Pyomo model to HiGHS and solve it.

Path: Pyomo's standard-form compiler (``pyomo.repn``, ``compile_standard_form`` with
``mixed_form=True``) turns the model into a sparse matrix in one pass; one highspy
``passModel`` hands it over. ARCHITECTURE.md records 2.2-2.9 s against 6.8-9 s for
Pyomo's persistent HiGHS interfaces on a 102k-variable model;
``benchmarks/bench_optimization_speed.py --handoff`` re-measures both here.

Nothing from HiGHS leaks out of this module: :func:`solve_compiled` returns a
:class:`HighsResult` of plain numbers and arrays.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.repn.plugins.standard_form import (
    InfeasibleConstraintException,
    LinearStandardFormCompiler,
)

from bundleopt.optimize.columns import ColumnLayout, column_layout
from bundleopt.optimize.conditioning import LinearProgram, Scaling, condition, identity_scaling

INF = highspy.kHighsInf
# Rows that only define the choice model (normalisation, McCormick rows of z = x y,
# tangent cuts): the conditioning may relax them where entries are negligible, since the
# decision's profit is re-evaluated exactly. Every other row is a business rule: relaxing
# it could let a decision break the rule, so its entries are kept down to
# RULE_ROW_DROP_TOL of the row's largest (and HiGHS' small_matrix_value is set to that).
STRUCTURAL_ROWS = frozenset({"normalisation", "link_off", "link_on", "one_price", "one_price_rlt",
                             "z_lower", "z_upper", "attraction_cuts", "attraction_def"})
RULE_ROW_DROP_TOL = 1e-12

# ---------------------------------------------------------------- HiGHS workarounds
# Every behaviour of HiGHS this package works around is here, with the HiGHS version it
# was seen in and the test that fails without it (tests/test_highs_workarounds.py lists
# them all; the venv has highspy 1.16.0).
#
# 1. Feasibility tolerances 1e-7, not 1e-9 (HiGHS 1.15.1): at 1e-9 HiGHS returned a worse
#    decision as "optimal" on three small instances (presolve on for two, off for one).
#    Test: tests/test_optimize_tighten.py::test_keeps_the_optimum_where_tight_highs_tolerances_lost_it.
FEASIBILITY_TOL = 1e-7
# 2. Presolve rule "dual-fixing probing" off (new in HiGHS 1.16.0): it cut the optimum off
#    small models (3 offers, 2 segments, personalised, tightened ranges); HiGHS returned
#    the warm start as "optimal" 0.6-3% below the optimum. Bit of ``presolve_rule_off``.
#    Test: tests/test_optimize_tighten.py::test_highs_dual_fixing_probing_is_off_where_it_cut_the_optimum_off.
DUAL_FIXING_PROBING = 1 << 20
# 3. Narrowest range of a no-purchase share handed to the MILP (hi / lo - 1; HiGHS 1.15.1
#    and 1.16.0): with near-point ranges HiGHS called the warm start optimal (a range 1e-4
#    to 1e-2 wide still failed, 3e-2 did not). Widening is always valid. The default of
#    ``TighteningOptions.min_width``. Test: the "infinite-bound" case of
#    tests/test_optimize_tighten.py::test_keeps_the_optimum_where_tight_highs_tolerances_lost_it.
MIN_RANGE_WIDTH = 0.05
# 4. A HiGHS answer on a tightened model is checked (:func:`untrustworthy`, HiGHS 1.15.1:
#    less than the warm start, or a bound infinite or below its own solution, with
#    near-degenerate ranges); the untightened model is solved instead. Test:
#    tests/test_optimize_tighten.py::test_falls_back_to_the_untightened_model_when_highs_loses_the_warm_start.
# 5. Second opinion without presolve and at 1e-9 feasibility (HiGHS 1.16.0, whose
#    reductions cut optima off badly scaled models). Test:
#    tests/test_optimize_certify.py::test_solve_never_returns_a_rule_breaking_decision.
SAFE_OPTIONS: dict[str, object] = {"presolve": "off", "primal_feasibility_tolerance": 1e-9,
                                   "mip_feasibility_tolerance": 1e-9}
# 6. One task scheduler per calling thread (HiGHS 1.15.1 and 1.16.0): :func:`set_threads`.
#    Test: tests/test_optimize_tighten.py::test_solves_with_different_thread_counts_in_one_process.
# 7. The banner printed from C by the first ``Highs()`` of a process (highspy 1.16.0):
#    :func:`_first_highs_quietly`. Test: tests/test_quiet_solver.py.
# 8. HiGHS' ``time_limit`` counts an instance's run time over all its solves (1.15.1,
#    1.16.0): :func:`set_deadline` adds the time already run. Test:
#    tests/test_highs_workarounds.py::test_set_deadline_counts_the_instances_earlier_runs.

# HiGHS options (not workarounds) the algorithms ask for by name.
# The primal simplex (``simplex_strategy``): the bound LPs of full bound tightening
# differ only in their objective, so the last basis stays primal feasible.
PRIMAL_SIMPLEX = 4
# The MILP after a tightening cut short by its deadline: the warm start is kept and the
# time left goes to the bound (cut rounds), not to primal heuristics (at 100 x 20 x 5
# sub-MIPs took 20 of HiGHS's 47 s and never beat the greedy start).
BOUND_ONLY_OPTIONS: dict[str, object] = {
    "mip_heuristic_effort": 0.0, "mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False, "mip_heuristic_run_feasibility_jump": False}


@functools.cache
def presolve_rules_off() -> int:
    """HiGHS' ``presolve_rule_off`` mask used for every solve: dual-fixing probing off
    where the installed HiGHS has the rule (1.16 and later), else 0."""
    h = highspy.Highs()
    return DUAL_FIXING_PROBING if (h.versionMajor(), h.versionMinor()) >= (1, 16) else 0


def _init_standard_form_compiler() -> None:
    """Set the class attributes Pyomo's standard-form compiler initialises lazily.

    ``_LinearStandardFormCompiler_impl.__init__`` sets ``_to_vector`` first and the
    sparse-matrix constructors after it; two threads compiling at once (``sweep`` with a
    ``ThreadPoolExecutor`` or a threaded Dask worker) could see ``_to_vector`` set and
    ``_csr_matrix`` still ``None``. Setting all three once, at import, removes the race.
    """
    import scipy.sparse
    from pyomo.repn.plugins.standard_form import _LinearStandardFormCompiler_impl as impl

    if impl._csc_matrix is None or impl._csr_matrix is None or impl._to_vector is None:
        impl._csc_matrix = scipy.sparse.csc_array
        impl._csr_matrix = scipy.sparse.csr_array
        impl._to_vector = np.fromiter


_init_standard_form_compiler()

_scheduler = threading.local()  # .threads: count this thread's HiGHS scheduler was set up with


def set_threads(h: highspy.Highs, threads: int | None) -> None:
    """Set HiGHS' ``threads`` option (None: HiGHS' default), resetting HiGHS' task
    scheduler when the count changes. HiGHS keeps one scheduler per calling thread, set
    up by its first solve there; a later solve in that thread asking for another count
    ends with no status ("Not Set"; seen with threads=2 then threads=1 in HiGHS 1.15.1
    and 1.16.0), while a solve in a new thread sets up its own."""
    count = 0 if threads is None else int(threads)
    previous = getattr(_scheduler, "threads", None)
    if previous is not None and previous != count:
        highspy.Highs.resetGlobalScheduler(True)
    _scheduler.threads = count
    if threads is not None:
        h.setOptionValue("threads", count)


_banner = threading.Lock()
_banner_done = False  # set once the first Highs instance of this process exists


def _first_highs_quietly() -> highspy.Highs:
    """The process's first ``highspy.Highs()`` with its stdout (file descriptor 1)
    pointed at the null device: HiGHS writes its banner ("Running HiGHS ...") from C
    on the first construction in a process, before any option can be set (seen with
    highspy 1.16.0); later constructions print nothing. C's stdout buffer is flushed
    before the descriptor is restored so that nothing of the banner leaks later."""
    import ctypes

    if sys.stdout is not None:
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: nothing to print to
        return highspy.Highs()
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        return highspy.Highs()
    finally:
        ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def new_highs(threads: int | None, *, verbose: bool = False) -> highspy.Highs:
    """A HiGHS instance as every solve here uses one: log only when ``verbose``, the
    presolve rules of :func:`presolve_rules_off` off, ``threads`` via :func:`set_threads`.
    Unless ``verbose``, nothing is printed, the banner included."""
    global _banner_done
    with _banner:
        h = highspy.Highs() if (_banner_done or verbose) else _first_highs_quietly()
        _banner_done = True
    h.setOptionValue("output_flag", bool(verbose))
    h.setOptionValue("presolve_rule_off", presolve_rules_off())
    # keep the rule rows' small entries (the conditioning keeps them down to this size)
    h.setOptionValue("small_matrix_value", RULE_ROW_DROP_TOL)
    set_threads(h, threads)
    return h


@dataclass
class CompiledModel:
    """A model as arrays, conditioned for HiGHS (:mod:`bundleopt.optimize.conditioning`):
    ``min c u'  s.t.  row_lo <= A u' <= row_hi, col_lo <= u' <= col_hi`` in scaled
    columns ``u = scaling.col_scale * u'``, scaled (and, where negligible entries were
    removed, relaxed) rows, and the objective divided by ``scaling.obj_scale``.

    The objective is negated (HiGHS minimises, the model maximises): the model's
    objective is ``sense * obj_scale * (solver objective)``, :meth:`model_objective`.
    ``layout`` says what each column stands for
    (:class:`~bundleopt.optimize.columns.ColumnLayout`); ``info`` is
    the build's plain data (:class:`bundleopt.optimize.model.BuildInfo`, None for a
    model built elsewhere). No Pyomo object is kept: the model may be freed once
    compiled; nothing looks columns up by Pyomo names. Values cross the seam through
    :meth:`to_model` and :meth:`to_solver`.
    """

    lp: highspy.HighsLp
    layout: ColumnLayout
    sense: int  # -1: the Pyomo objective is maximised
    scaling: Scaling
    info: object = None

    def to_model(self, values: np.ndarray) -> np.ndarray:
        """Solver column values -> the model's variable values."""
        return np.asarray(values, dtype=float) * self.scaling.col_scale

    def to_solver(self, values: np.ndarray) -> np.ndarray:
        """The model's variable values -> solver column values."""
        return np.asarray(values, dtype=float) / self.scaling.col_scale

    def model_objective(self, solver_value: float) -> float:
        """A solver objective value (or bound) in the model's own units and sense."""
        return self.sense * self.scaling.obj_scale * float(solver_value)

    def solver_objective(self, model_value: float) -> float:
        """A model objective value in the solver's units (minimised)."""
        return self.sense * float(model_value) / self.scaling.obj_scale


class TriviallyInfeasible(ValueError):
    """A constraint with no variables left is violated (found while compiling)."""


def compile_model(model: pyo.ConcreteModel, *, scale: bool = True) -> CompiledModel:
    """Compile ``model`` (linear, one objective) into a conditioned highspy ``HighsLp``
    (``scale=False``: the raw coefficients, for comparisons)."""
    try:
        repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    except InfeasibleConstraintException as exc:
        raise TriviallyInfeasible(str(exc)) from exc
    cols = list(repn.columns)
    n = len(cols)
    A = repn.A.tocsc()
    rhs = np.asarray(repn.rhs, dtype=float)
    sense_row = np.array([r[1] for r in repn.rows], dtype=int)
    # mixed_form writes ">=" rows as (A, rhs) with multiplier -1: A x >= rhs.
    obj = repn.objectives[0]
    sense = -1 if obj.sense == pyo.maximize else 1
    c = np.asarray(repn.c.toarray()).reshape(-1)[:n] if n else np.zeros(0)
    raw = LinearProgram(
        c=sense * c,
        offset=sense * float(repn.c_offset[0]) if len(repn.c_offset) else 0.0,
        A=sp.csc_array(A),
        row_lo=np.where(sense_row <= 0, rhs, -INF),
        row_hi=np.where(sense_row >= 0, rhs, INF),
        col_lo=np.array([-INF if v.lb is None else v.lb for v in cols], dtype=float),
        col_hi=np.array([INF if v.ub is None else v.ub for v in cols], dtype=float),
    )
    if scale:
        structural = {id(getattr(model, name)) for name in STRUCTURAL_ROWS if hasattr(model, name)}
        rule_rows = np.array([id(r[0].parent_component()) not in structural for r in repn.rows],
                             dtype=bool)
        prog, scaling = condition(raw, exact_rows=rule_rows, exact_tol=RULE_ROW_DROP_TOL)
    else:
        prog, scaling = raw, identity_scaling(A.shape[0], n)
    integer = [v.is_integer() or v.is_binary() for v in cols]
    lp = to_highs(prog, integer)
    return CompiledModel(lp=lp, layout=column_layout(model, cols), sense=sense,
                         scaling=scaling, info=getattr(model, "info", None))


def to_highs(prog: LinearProgram, integer: list[bool]) -> highspy.HighsLp:
    """A :class:`~bundleopt.optimize.conditioning.LinearProgram` as a highspy ``HighsLp``."""
    n = prog.A.shape[1]
    A = prog.A
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = prog.c
    lp.offset_ = prog.offset
    lp.col_lower_ = prog.col_lo
    lp.col_upper_ = prog.col_hi
    lp.row_lower_ = prog.row_lo
    lp.row_upper_ = prog.row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = A.shape[0]
    if any(integer):
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in integer]
    return lp


@dataclass
class HighsResult:
    """Plain outcome of a HiGHS run (objective in the model's own sense)."""

    status: str  # "optimal", "time_limit", "infeasible", "unbounded", other HiGHS status
    has_solution: bool
    objective: float
    bound: float
    gap: float
    values: np.ndarray
    handoff_s: float
    solve_s: float
    nodes: int


def untrustworthy(result: HighsResult, incumbent: float) -> bool:
    """Workaround 4: a HiGHS answer on a tightened model not to be trusted: no solution,
    less than the warm start (profit ``incumbent``) it was given, or a best bound that is
    not finite or lies below its own solution."""
    tol = 1e-6 * max(1.0, abs(incumbent))
    return (not result.has_solution or result.objective < incumbent - tol
            or not np.isfinite(result.bound) or result.bound < result.objective - tol)


def set_deadline(h: highspy.Highs, deadline: float | None) -> float | None:
    """Workaround 8: make the next ``h.run()`` stop at ``deadline`` (a
    ``time.perf_counter()`` value; None: no limit). HiGHS' ``time_limit`` counts the
    instance's run time over all its solves, so the time already run is added. Returns
    the seconds left (None without a deadline; <= 0: already passed, nothing set)."""
    if deadline is None:
        return None
    left = deadline - time.perf_counter()
    if left > 0:
        h.setOptionValue("time_limit", float(h.getRunTime() + left))
    return left


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kSolutionLimit: "solution_limit",
    highspy.HighsModelStatus.kModelEmpty: "optimal",
}


def solve_compiled(
    cm: CompiledModel,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    verbose: bool = False,
    start: np.ndarray | None = None,
    lp_method: str | None = None,
    options: dict[str, object] | None = None,
) -> HighsResult:
    """Pass ``cm`` to HiGHS, optionally warm-started from ``start`` (full column
    vector, feasible), solve, and read the result back.

    ``mip_gap`` is HiGHS' ``mip_rel_gap``; ``lp_method="simplex"`` asks for a vertex
    solution (the decomposed LP needs one); ``options`` are further HiGHS options
    (name -> value), e.g. for tuning experiments.
    """
    t0 = time.perf_counter()
    h = new_highs(threads, verbose=verbose)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if lp_method is not None:
        h.setOptionValue("solver", lp_method)
    # Feasibility tolerances 1e-7 (primal, and MIP instead of HiGHS' default 1e-6): the
    # objective must match the exact evaluation of the rounded decision to 1e-6
    # relative, which 1e-6 let the normalisation row drift past. Not tighter: at 1e-9
    # HiGHS 1.15.1 returned a worse decision as "optimal" on small instances (with
    # presolve on for some, off for others; tests/test_optimize_tighten.py keeps them).
    # No absolute MIP gap (HiGHS' default 1e-6 in solver units would call any decision
    # optimal on a model whose profits are that small): only mip_gap, relative.
    tolerances = {"primal_feasibility_tolerance": FEASIBILITY_TOL,
                  "mip_feasibility_tolerance": FEASIBILITY_TOL, "mip_abs_gap": 0.0}
    for name, value in {**tolerances, **(options or {})}.items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS rejected option {name}={value!r}")
    h.passModel(cm.lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, cm.to_solver(start)))
        sol.value_valid = True
        h.setSolution(sol)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()))
    info = h.getInfo()
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = cm.to_model(h.getSolution().col_value) if has else np.zeros(cm.lp.num_col_)
    objective = cm.model_objective(info.objective_function_value) if has else float("nan")
    is_mip = len(cm.lp.integrality_) > 0
    if is_mip:
        bound = cm.model_objective(info.mip_dual_bound)
        gap = info.mip_gap if has else float("inf")
        nodes = int(info.mip_node_count)
    else:
        bound = objective
        gap = 0.0 if status == "optimal" else float("inf")
        nodes = 0
    return HighsResult(status=status, has_solution=bool(has), objective=float(objective),
                       bound=float(bound), gap=float(gap), values=values,
                       handoff_s=t1 - t0, solve_s=t2 - t1, nodes=nodes)
