"""Candidates from Optuna's ask/tell: ``study --sampler optuna:NSGAIISampler|optuna:TPESampler``.

Optuna is an optional dependency (``pip install 'sweepledger[optuna]'``); this module imports
it, so ``study`` imports this module only after ``study_sampling.check_sampler`` passed.

Nothing Optuna holds survives a generation: each generation's candidates are asked from an
in-memory Optuna study rebuilt from the ledger, so a resumed or extended study asks exactly
what an uninterrupted one would have.

1. **Study.** ``optuna.create_study`` with one direction per objective (the study's
   ``pareto`` objectives, see ``objectives``).
2. **Tell, in job order.** Every earlier candidate becomes a trial (``add_trial`` of
   ``create_trial``, numbered in job order, whatever order the outcomes arrived in):
   ``COMPLETE`` with its objective values when its trial is valid (status ``ok``, evidence
   verified) and every objective is a number; ``PRUNED`` when it ran (``ok``/``empty``) but is
   not valid or lacks an objective; ``FAIL`` otherwise (``error``, ``crashed``, ``timeout``,
   ``interrupted``, ``skipped``, no outcome). A candidate whose params no longer fit the
   study's space is left out.
3. **Sampler.** Made fresh and seeded with ``SeedSequence([seed, generation])``.
   NSGA-II: ``population_size`` = the candidates per generation and its generations pinned
   to the study's (a trial's generation is its candidate's; generation g breeds from the
   elite of generation g-1 and its parents, as in NSGA-II even when trials failed; earlier
   generations' parents are selected oldest first, as a running loop selects them); drawn at
   random with fewer than two parents. TPE: ``n_startup_trials`` = the candidates per
   generation (the first generation is random, later ones are modelled).
4. **Ask** ``count`` times with the space as ``fixed_distributions`` (``FloatDistribution`` per
   box); values are rounded to ``DIGITS`` decimals (kept inside the box). A candidate id
   already proposed is told ``FAIL`` and asked again (``MAX_DRAWS``).

A candidate's ``origin`` is ``optuna:<Sampler>``; its ``parents`` are the candidates it was
drawn from: NSGA-II's parent population, or every ``COMPLETE``/``PRUNED`` trial TPE modelled;
none when it was drawn at random.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.samplers import BaseSampler, NSGAIISampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState, create_trial

from commands.runner.errors import RunRefused
from commands.runner.study_sampling import (
    DIGITS,
    MAX_DRAWS,
    MIN_PARENTS,
    NSGAII,
    OPTUNA_PREFIX,
    fresh_id,
)
from schemas import CandidateProposed, Manifest

RAN = ("ok", "empty")


@dataclass(frozen=True)
class Told:
    """An earlier candidate and its trial (a ``study_trials`` row; None without an outcome)."""

    candidate: CandidateProposed
    trial: dict[str, Any] | None


class LedgerPacedNSGAII(NSGAIISampler):
    """NSGA-II whose generations are the study's: ``generations`` maps a trial number to its
    candidate's generation; a trial being asked belongs to ``asking``."""

    def __init__(self, generations: dict[int, int], asking: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._generations = generations
        self._asking = asking

    def get_trial_generation(self, study: Study, trial: FrozenTrial) -> int:
        return self._generations.get(trial.number, self._asking)

    def get_population(self, study: Study, generation: int) -> list[FrozenTrial]:
        return [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if self._generations.get(t.number) == generation
        ]

    def get_parent_population(self, study: Study, generation: int) -> list[FrozenTrial]:
        # Too few parents to cross over: the generation being asked is drawn at random (the
        # elite of earlier generations is kept whole for the generations after it).
        parents = super().get_parent_population(study, generation)
        if generation == self._asking and len(parents) < MIN_PARENTS:
            return []
        return parents

    def parents(self, study: Study) -> list[FrozenTrial]:
        """The parent population the generation being asked breeds from (empty: random)."""
        return self.get_parent_population(study, self._asking)

    def settle(self, study: Study) -> None:
        """Select and cache the parents of every earlier generation, oldest first: as a
        running NSGA-II loop would have (each selection reads the one before from the cache,
        in trial order), and without recursing once per generation."""
        for generation in range(1, self._asking):
            self.get_parent_population(study, generation)


def sampler_seed(seed: int, generation: int) -> int:
    """The Optuna sampler's seed for ``generation`` of a study seeded ``seed``."""
    return int(np.random.SeedSequence([seed, generation]).generate_state(1)[0])


@contextmanager
def _quiet() -> Iterator[None]:
    """Optuna's INFO lines ("A new study created", "Trial N finished") off while we work."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _state(
    trial: dict[str, Any] | None, objectives: Sequence[tuple[str, str]]
) -> tuple[TrialState, list[float] | None]:
    """(state, values) to tell for a candidate's trial (see the module docstring)."""
    if trial is None or trial["status"] not in RAN:
        return TrialState.FAIL, None
    metrics = trial["metrics"] or {}
    values = [metrics.get(name) for name, _ in objectives]
    numbers = [float(v) for v in values if isinstance(v, int | float) and np.isfinite(v)]
    if not trial["valid"] or len(numbers) < len(objectives):
        return TrialState.PRUNED, None
    return TrialState.COMPLETE, numbers


def _fits(params: dict[str, Any], boxes: dict[str, list[float]]) -> bool:
    return all(
        isinstance(params.get(n), int | float) and lo <= params[n] <= hi
        for n, (lo, hi) in boxes.items()
    )


def _sampler(
    name: str, count: int, seed: int, generations: dict[int, int], asking: int
) -> BaseSampler:
    if name == NSGAII:
        return LedgerPacedNSGAII(generations, asking, population_size=count, seed=seed)
    return TPESampler(n_startup_trials=count, seed=seed)


def _parents(sampler: BaseSampler, study: Study, count: int, ids: dict[int, str]) -> list[str]:
    if isinstance(sampler, LedgerPacedNSGAII):
        chosen = sampler.parents(study)
    else:
        chosen = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if len(chosen) < count:  # TPE's startup trials: drawn at random
            return []
    return sorted(ids[t.number] for t in chosen)


def propose_optuna(
    sampler_name: str,
    manifest: Manifest,
    study: str,
    seed: int,
    generation: int,
    count: int,
    told: list[Told],
    objectives: Sequence[tuple[str, str]],
    taken: set[str],
) -> list[CandidateProposed]:
    """``count`` new candidates of ``generation`` asked from Optuna's ``sampler_name`` after
    telling it ``told`` (every earlier candidate, in job order); ``taken`` is grown.

    Raises:
        RunRefused: no new candidate after ``MAX_DRAWS`` asks.
    """
    assert manifest.study is not None
    boxes = manifest.study.space
    space: dict[str, BaseDistribution] = {
        n: FloatDistribution(lo, hi) for n, (lo, hi) in boxes.items()
    }
    name = sampler_name.removeprefix(OPTUNA_PREFIX)
    known = [t for t in told if _fits(t.candidate.params, boxes)]
    generations = {number: t.candidate.generation for number, t in enumerate(known)}
    ids = {number: t.candidate.candidate_id for number, t in enumerate(known)}
    seeded = sampler_seed(seed, generation)
    with _quiet():
        sampler = _sampler(name, count, seeded, generations, generation)
        opt = optuna.create_study(
            directions=["maximize" if d == "max" else "minimize" for _, d in objectives],
            sampler=sampler,
        )
        for t in known:
            state, values = _state(t.trial, objectives)
            params = {n: t.candidate.params[n] for n in space}
            opt.add_trial(
                create_trial(state=state, values=values, params=params, distributions=space)
            )
        if isinstance(sampler, LedgerPacedNSGAII):
            sampler.settle(opt)
        out: list[CandidateProposed] = []
        for _ in range(count):
            for _ in range(MAX_DRAWS):
                asked = opt.ask(fixed_distributions=space)
                chosen = {
                    n: min(max(round(float(asked.params[n]), DIGITS), lo), hi)
                    for n, (lo, hi) in boxes.items()
                }
                candidate_id = fresh_id(manifest, chosen, taken)
                if candidate_id is not None:
                    break
                opt.tell(asked, state=TrialState.FAIL)
            else:
                raise RunRefused(f"study {study!r}: no new candidate after {MAX_DRAWS} asks")
            taken.add(candidate_id)
            out.append(
                CandidateProposed(
                    candidate_id=candidate_id,
                    study=study,
                    params=chosen,
                    origin=sampler_name,
                    parents=_parents(sampler, opt, count, ids),
                    generation=generation,
                    seed=seed,
                    reason=f"optuna {name} ask after {len(known)} told trials, "
                    f"sampler seed {seeded}",
                )
            )
    return out
