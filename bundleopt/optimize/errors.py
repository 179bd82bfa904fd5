"""The optimizer's errors, in a module of their own so that every layer can raise them
without importing the solver (:mod:`bundleopt.optimize.dispatch`)."""

from __future__ import annotations


class SolverError(RuntimeError):
    """HiGHS stopped without any feasible decision (e.g. time limit before the first one)."""


class InfeasibleScenarioError(ValueError):
    """No decision satisfies the scenario's rules; ``families`` names a conflicting set."""

    def __init__(self, message: str, families: tuple[str, ...]) -> None:
        super().__init__(message)
        self.families = families


__all__ = ["InfeasibleScenarioError", "SolverError"]
