"""The label-matched oracle: gold's label re-simulated many times from the generator's state at a semester's end."""

from __future__ import annotations

import logging

import numpy as np

from dwh.synthetic.labels import LabelRules, enrolled_ahead, label_rows
from dwh.synthetic.params import GRADUATED, NOT_ENTERED, GeneratorConfig
from dwh.synthetic.profile import Shapes
from dwh.synthetic.simulate import Simulation, SourceWorld

log = logging.getLogger(__name__)
MIN_ACCEPTED = 50
MAX_ROUNDS = 10
CHUNK = 200_000  # replica-students stepped at once: bounds memory (about 2 kB each)


def history(cfg: GeneratorConfig, index: int, n: int, capture: set[int]) -> tuple[SourceWorld, dict[int, Simulation]]:
    """The source's simulated history as its databases hold it, and its state at the end of each semester in
    `capture` (`cfg` is the source's own config, GeneratorConfig.for_source)."""
    sim = Simulation(cfg, index, n)
    states = {}
    everyone = np.arange(n)
    for sem in range(cfg.n_semesters):
        sim.step(sem)
        if sem in capture:
            states[sem] = sim.replicate(everyone, 1, rng=None)
    return sim.finish(), states


def matched(
    world: SourceWorld,
    states: dict[int, Simulation],
    stu: np.ndarray,
    t: np.ndarray,
    rules: LabelRules,
    replicas: int = 200,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Per row (stu, t): oracle, the share of the accepted replicas labelled 1 (also for abandono and
    perdida_regularidad), the accepted and simulated replica counts, and the real history's
    inscripto_siguiente. NaN where the student had not entered or had graduated by t (gold has no such row).

    From the simulation's state at the end of semester t (`states`, from history(): latent traits, passed and
    regular subjects, annual courses under way, pauses, regularity, last hazard...) each row's student is tiled
    into `replicas` copies that step t+1 .. t+N+1 with the generator's own code and a fresh stream seeded by
    (seed, the run's seed, source, t, round, chunk); the step after the horizon still dates facts inside it (a
    returner's August reinscription counts in the year's first cuatrimestre, a February readmission clears a
    loss of the cuatrimestre before). The shapes decided afterwards (annual courses left, readmissions moved
    after a loss, late certificates) apply to the replicas too, and gold's label is read from their events.

    Conditioning on what the freeze shows: the step of t+1 dates some draws before t's as-of day. Its course
    inscriptions are dated class start minus 1-19 days, from 19 July, so a first-cuatrimestre row (frozen 31
    July) already shows whether the student enrolled in t+1 (gold's inscripto_siguiente), which a student who
    leaves before t+1 never has. The flag is computed on each replica as on the real history, and only the
    replicas whose flag equals the real one are kept (rejection sampling). Nothing else of t+1 is visible and
    informative: a returner's reinscription (from 20 July) and readmission (from 19 July) follow from the
    state's pause (only their day is drawn); exam inscriptions start 30 November and the control of
    regularity is in April; a second-cuatrimestre row (frozen 31 December) sees nothing of t+1 (from 10
    February). Rows that keep fewer than MIN_ACCEPTED replicas (mostly first-cuatrimestre rows of active
    students not enrolled by 31 July) get more rounds, up to MAX_ROUNDS; with none kept the oracle is NaN.

    The state at the end of a second cuatrimestre includes its February-March exam turn, after the 31
    December freeze: for those rows the oracle knows more than any model can, as it does of latent traits.
    """
    m = stu.size
    seen = enrolled_ahead(world, stu, t, rules)
    totals = {name: np.zeros(m) for name in ("target", "abandono", "perdida_regularidad", "accepted", "simulated")}
    in_play = np.zeros(m, dtype=bool)
    for sem in np.unique(t):
        rows = np.flatnonzero(t == sem)
        state = states[int(sem)].state[stu[rows]]
        rows = rows[(state != NOT_ENTERED) & (state != GRADUATED)]
        in_play[rows] = True
        for round_no in range(MAX_ROUNDS):
            need = rows if round_no == 0 else rows[totals["accepted"][rows] < MIN_ACCEPTED]
            per_chunk = max(1, CHUNK // replicas)
            for chunk_no, start in enumerate(range(0, need.size, per_chunk)):
                part = need[start : start + per_chunk]
                key = [seed, world.config.seed, world.index, int(sem), round_no, chunk_no]
                _replay(states[int(sem)], stu[part], int(sem), seen[part], rules, replicas, key, part, totals)
    accepted = totals["accepted"]
    out = {
        name: np.where(in_play & (accepted > 0), totals[name] / np.maximum(accepted, 1), np.nan)
        for name in ("target", "abandono", "perdida_regularidad")
    }
    out["oracle"] = out.pop("target")
    out["accepted"] = np.where(in_play, accepted, 0).astype(int)
    out["simulated"] = totals["simulated"].astype(int)
    out["enrolled_ahead"] = seen
    starved = in_play & (accepted < MIN_ACCEPTED)
    if starved.any():
        log.info(
            "source %d: %d of %d rows kept fewer than %d replicas after %d rounds (%d none)",
            world.index,
            int(starved.sum()),
            int(in_play.sum()),
            MIN_ACCEPTED,
            MAX_ROUNDS,
            int((in_play & (accepted == 0)).sum()),
        )
    return out


def _replay(
    state: Simulation,
    who: np.ndarray,
    sem: int,
    seen: np.ndarray,
    rules: LabelRules,
    replicas: int,
    key: list[int],
    rows: np.ndarray,
    totals: dict[str, np.ndarray],
) -> None:
    """Step `replicas` copies of the students `who` from the state at the end of `sem` through sem + N and add
    each row's accepted replicas (and their labels) to `totals`."""
    twin = state.replicate(who, replicas, np.random.default_rng(key))
    names = Shapes.names()
    twin.streams = lambda shape: np.random.default_rng([*key, 1000 + names.index(shape)])
    # One step past the horizon: it dates facts inside it (a returner's reinscription for the year counts in
    # the year's first cuatrimestre; a readmission may precede its semester's start).
    for step in range(sem + 1, sem + rules.horizon + 2):
        twin.step(step)
    future = twin.finish(cut=False)
    copy_of = np.tile(np.arange(who.size), replicas)
    every, at = np.arange(twin.n), np.full(twin.n, sem)
    labels = label_rows(future, every, at, rules)
    kept = enrolled_ahead(future, every, at, rules) == seen[copy_of]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(copy_of, weights=mask, minlength=who.size)

    totals["accepted"][rows] += count(kept)
    totals["simulated"][rows] += replicas
    for name in ("target", "abandono", "perdida_regularidad"):
        totals[name][rows] += count(kept & (labels[name] == 1))
