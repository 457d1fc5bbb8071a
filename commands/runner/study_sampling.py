"""How a study draws its candidates: the sampler names ``study --sampler`` accepts and the
built-in sampler.

``builtin`` (the default): numpy's PCG64 seeded by ``(seed, generation)``; generation 0
uniformly in the space's boxes, a later one by Gaussian mutation (sigma = ``MUTATION_SCALE`` of
each box, clipped to it) of the current Pareto frontier, parents taken in candidate_id order
round-robin (uniform again when the frontier is empty). ``optuna:<Sampler>`` (one of
``OPTUNA_SAMPLERS``) asks Optuna instead (``commands.runner.study_optuna``; optuna is an
optional dependency, checked by ``check_sampler`` before anything is written).

Whatever draws them, values are rounded to ``DIGITS`` decimals and a candidate's id is its
trial's job id (``manifest.job_id_of``): an id already proposed is drawn again, at most
``MAX_DRAWS`` times per candidate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from commands.runner.errors import RunRefused, SamplerUnavailable, UnknownSampler
from commands.runner.manifest import job_id_of, job_target
from schemas import CandidateProposed, Manifest

MUTATION_SCALE = 0.1
DIGITS = 6
MAX_DRAWS = 100  # per candidate, before a space too small to hold new candidates is refused
BUILTIN_SAMPLER = "builtin"
OPTUNA_PREFIX = "optuna:"
OPTUNA_SAMPLERS = ("NSGAIISampler", "TPESampler")
SAMPLERS = (BUILTIN_SAMPLER, *(OPTUNA_PREFIX + name for name in OPTUNA_SAMPLERS))
OPTUNA_EXTRA = "sweepledger[optuna]"
NSGAII = "NSGAIISampler"
MIN_PARENTS = 2  # NSGA-II's uniform crossover breeds from two parents


def check_sampler(name: str, trials: int) -> None:
    """Refuse a sampler that is unknown, unusable with ``trials`` candidates per generation,
    or whose package is missing (before anything is written).

    Raises:
        UnknownSampler: ``name`` is not one of ``SAMPLERS``.
        RunRefused: NSGA-II with fewer than ``MIN_PARENTS`` candidates per generation.
        SamplerUnavailable: an ``optuna:`` sampler without optuna installed.
    """
    if name not in SAMPLERS:
        raise UnknownSampler(f"unknown sampler {name!r} (choose from: {', '.join(SAMPLERS)})")
    if name == OPTUNA_PREFIX + NSGAII and trials < MIN_PARENTS:
        raise RunRefused(f"--sampler {name} needs --trials >= {MIN_PARENTS} (its population)")
    if name.startswith(OPTUNA_PREFIX):
        try:
            import optuna  # noqa: F401
        except ImportError as e:
            raise SamplerUnavailable(
                f"--sampler {name} needs the optuna package, not installed here: "
                f"pip install '{OPTUNA_EXTRA}'"
            ) from e


def fresh_id(manifest: Manifest, chosen: dict[str, float], taken: set[str]) -> str | None:
    """The candidate id of ``chosen`` (with the manifest's fixed params), None when taken."""
    candidate_id = job_id_of(job_target(manifest), {**manifest.params, **chosen})
    return None if candidate_id in taken else candidate_id


def propose(
    manifest: Manifest,
    study: str,
    seed: int,
    generation: int,
    count: int,
    parents: list[dict[str, Any]],
    taken: set[str],
) -> list[CandidateProposed]:
    """``count`` new candidates of ``generation`` from the built-in sampler (see the module
    docstring); ``parents`` is the current frontier, ``taken`` the ids proposed so far (grown)."""
    assert manifest.study is not None
    space = manifest.study.space
    names = list(space)
    low = np.array([space[n][0] for n in names])
    high = np.array([space[n][1] for n in names])
    rng = np.random.Generator(np.random.PCG64([seed, generation]))
    out: list[CandidateProposed] = []
    for i in range(count):
        parent = parents[i % len(parents)] if generation and parents else None
        for _ in range(MAX_DRAWS):
            if parent is None:
                values = rng.uniform(low, high)
            else:
                start = np.array([float(parent["params"][n]) for n in names])
                values = np.clip(start + rng.normal(0.0, MUTATION_SCALE * (high - low)), low, high)
            chosen = {n: round(float(v), DIGITS) for n, v in zip(names, values, strict=True)}
            candidate_id = fresh_id(manifest, chosen, taken)
            if candidate_id is not None:
                break
        else:
            raise RunRefused(f"study {study!r}: no new candidate after {MAX_DRAWS} draws")
        taken.add(candidate_id)
        out.append(
            CandidateProposed(
                candidate_id=candidate_id,
                study=study,
                params=chosen,
                origin="random" if parent is None else "mutation",
                parents=[] if parent is None else [parent["candidate_id"]],
                generation=generation,
                seed=seed,
                reason="uniform in study.space"
                if parent is None
                else f"gaussian mutation, sigma {MUTATION_SCALE} of each box",
            )
        )
    return out
