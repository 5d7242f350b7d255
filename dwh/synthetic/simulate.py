"""Student-by-cuatrimestre simulation with a planted dropout mechanism, vectorised with numpy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dwh.synthetic import catalogs, shapes
from dwh.synthetic.params import (
    ACTIVE,
    DROPPED,
    GRADUATED,
    NOT_ENTERED,
    PAUSED,
    SUBJECTS_PER_PLAN,
    GeneratorConfig,
    annual_subjects,
    class_period,
    exam_turns,
)

EPOCH = dt.date(1970, 1, 1)
__all__ = [
    "ACTIVE",
    "DROPPED",
    "GRADUATED",
    "NOT_ENTERED",
    "PAUSED",
    "Simulation",
    "SourceWorld",
    "day_number",
    "simulate_source",
]


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01, the unit of every date array here."""
    return (day - EPOCH).days


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Events:
    """Column arrays of one kind of event, appended semester by semester."""

    columns: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **arrays: np.ndarray) -> None:
        for name, values in arrays.items():
            self.columns.setdefault(name, []).append(np.asarray(values))

    def frame(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.columns.items()}


@dataclass
class SourceWorld:
    """Everything simulated for one Guaraní source; dates are day numbers, times epoch seconds."""

    index: int
    config: GeneratorConfig
    students: dict[str, np.ndarray]
    cursadas: dict[str, np.ndarray]
    exams: dict[str, np.ndarray]
    reinscriptions: dict[str, np.ndarray]
    status: dict[str, np.ndarray]
    perdidas: dict[str, np.ndarray]
    census: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    # Readmissions (stu, time): the status events that raise sga_alumnos.cnt_readmisiones.
    readmits: dict[str, np.ndarray] = field(default_factory=dict)


def _draw_students(
    cfg: GeneratorConfig, n: int, rng: np.random.Generator, n_prop: int, n_sites: int
) -> dict[str, np.ndarray]:
    """Static attributes: cohort, programme, site, demographics, census answers and latent traits."""
    weights = np.linspace(1.0, 1.25, cfg.years)
    cohort = np.sort(rng.choice(np.arange(cfg.first_year, cfg.last_year + 1), size=n, p=weights / weights.sum()))
    age_group = rng.choice(3, size=n, p=[0.8, 0.12, 0.08])
    entry_age = np.where(
        age_group == 0,
        rng.integers(17, 20, n),
        np.where(age_group == 1, rng.integers(20, 25, n), rng.integers(25, 46, n)),
    )
    birth = np.array([day_number(dt.date(int(y), 3, 1)) for y in cohort - entry_age]) - rng.integers(0, 365, n)
    works = rng.random(n) < np.where(entry_age >= 23, 0.65, 0.22)
    hours = np.where(works, rng.choice([1, 2, 3, 4, 5], size=n, p=[0.15, 0.25, 0.25, 0.2, 0.15]), 0)
    children = np.where(
        entry_age >= 24, rng.choice(4, size=n, p=[0.45, 0.3, 0.17, 0.08]), (rng.random(n) < 0.03).astype(int)
    )
    beca = rng.random(n) < 0.16
    no_pc = rng.random(n) < 0.14
    no_coverage = rng.random(n) < 0.15
    lives_alone = rng.random(n) < 0.12
    z = (
        0.45 * (hours - 1.2) / 1.5
        + 0.35 * (children > 0)
        + 0.3 * no_pc
        + 0.25 * no_coverage
        - 0.35 * beca
        + 0.3 * (entry_age >= 25)
        + 0.2 * lives_alone
        + rng.normal(0.0, 0.8, n)
    )
    z = (z - z.mean()) / z.std()
    ability = -0.3 * z + rng.normal(0.0, 0.95, n)
    engagement = -0.45 * z + 0.35 * ability + rng.normal(0.0, 0.8, n)
    sexo_f = rng.random(n) < 0.56
    return {
        "cohort": cohort,
        "entry_age": entry_age,
        "birth": birth,
        "works": works,
        "hours": hours,
        "children": children,
        "beca": beca,
        "no_pc": no_pc,
        "no_coverage": no_coverage,
        "lives_alone": lives_alone,
        "z": z,
        "ability": ability,
        "engagement": engagement,
        "sexo_f": sexo_f,
        "propuesta": rng.integers(0, n_prop, n),
        "site": rng.choice(n_sites, size=n, p=_site_weights(n_sites)),
        "tipo_ingreso": rng.choice([1, 2, 3, 4, 5], size=n, p=[0.55, 0.35, 0.04, 0.04, 0.02]),
        "surveyed": rng.random(n) < 0.92,
        "resurvey": rng.random(n) < 0.15,
        "moodle_user": rng.random(n) < 0.93,
        "extranjero": rng.random(n) < 0.04,
    }


def _site_weights(n_sites: int) -> np.ndarray:
    w = np.array([0.7, 0.2, 0.1][:n_sites])
    return w / w.sum()


def simulate_source(cfg: GeneratorConfig, index: int, n: int) -> SourceWorld:
    """Run the cuatrimestre loop for one source and return its event arrays."""
    sim = Simulation(cfg, index, n)
    for sem in range(cfg.n_semesters):
        sim.step(sem)
    return sim.finish()


# A simulation's per-student state, tiled by Simulation.replicate (st, the static draws, is tiled too).
PER_STUDENT = (
    "entry_sem",
    "resurvey_sem",
    "starts_work",
    "in_progress",
    "state",
    "resume_at",
    "leave_mode",
    "regular",
    "regularized",
    "approved",
    "approved_year",
    "next_hazard",
    "dropout_sem",
    "graduation_day",
    "readmissions",
    "state_by_sem",
)
EVENT_KINDS = ("cursadas", "exams", "reins", "status", "perdidas", "truth", "readmits")


class Simulation:
    """The cuatrimestre loop of one source, one semester at a time.

    __init__ makes the static draws and the initial state, step(sem) runs one cuatrimestre and finish() turns
    the events into the SourceWorld. Between steps the whole state is the attributes named in PER_STUDENT,
    st, started_annual and rng, so replicate() can tile it and step a future from it (dwh.synthetic.futures).
    """

    def __init__(self, cfg: GeneratorConfig, index: int, n: int) -> None:
        self.cfg, self.index, self.n = cfg, index, n
        self.streams: Callable[[str], np.random.Generator] | None = None
        rng = self.rng = np.random.default_rng([cfg.seed, index])
        fac = catalogs.FACULTADES[index]
        st = self.st = _draw_students(cfg, n, rng, len(fac["propuestas"]), len(fac["sedes"]))
        entry_sem = self.entry_sem = 2 * (st["cohort"] - cfg.first_year)
        # Census re-survey two to four cuatrimestres after entry; some start working then.
        resurvey_sem = np.where(st["resurvey"], entry_sem + rng.integers(2, 5, n), -1)
        self.starts_work = st["resurvey"] & ~st["works"] & (rng.random(n) < 0.45)
        if cfg.shapes.census_updates:
            # Each shape draws from its own stream, so the simple profile's draws (and bytes) never change.
            rng_census = shapes.stream(cfg, index, "census_updates")
            resurvey_sem = shapes.census_in_place(st, self.starts_work, entry_sem, resurvey_sem, rng_census)
        self.resurvey_sem = resurvey_sem
        if cfg.shapes.second_careers:
            shapes.pair_second_careers(cfg, st, len(fac["propuestas"]), shapes.stream(cfg, index, "second_careers"))
        self.annual = annual_subjects() if cfg.shapes.annual_courses else None
        self.in_progress = np.zeros((n, SUBJECTS_PER_PLAN), dtype=bool)
        self.started_annual: tuple[np.ndarray, ...] | None = None
        self.finished_annual: list[np.ndarray] = []

        self.state = np.full(n, NOT_ENTERED)
        self.resume_at = np.full(n, -1)
        self.leave_mode = np.zeros(n, dtype=np.int8)  # 1 = enrols then abandons this cuatrimestre
        self.regular = np.ones(n, dtype=bool)  # holds regularity (no unresolved pérdida)
        self.regularized = np.zeros((n, SUBJECTS_PER_PLAN), dtype=bool)
        self.approved = np.zeros((n, SUBJECTS_PER_PLAN), dtype=bool)
        self.approved_year = np.zeros(n, dtype=int)
        self.next_hazard = np.zeros(n)
        self.dropout_sem = np.full(n, -1)
        self.graduation_day = np.full(n, -1)
        self.readmissions = np.zeros(n, dtype=int)
        # Each student's state at the end of every cuatrimestre (for truth read at a snapshot); no draws.
        self.state_by_sem = np.zeros((n, cfg.n_semesters), dtype=np.int8)

        self.cursadas, self.exams, self.reins, self.status, self.perdidas, self.truth, self.readmits = (
            Events() for _ in EVENT_KINDS
        )
        self.status.add(
            stu=np.arange(n),
            time=_entry_times(cfg, st["cohort"], rng),
            calidad=np.full(n, "A"),
            motivo=np.full(n, catalogs.MOTIVOS_CALIDAD["ingreso"]),
        )

    def step(self, sem: int) -> None:
        """One cuatrimestre: annual control, returns, leaving, courses, exams, graduations, next hazard."""
        cfg, rng, st, n = self.cfg, self.rng, self.st, self.n
        state, regular, entry_sem, leave_mode = self.state, self.regular, self.entry_sem, self.leave_mode
        regularized, approved, cursadas = self.regularized, self.approved, self.cursadas
        year = cfg.first_year + sem // 2
        first_of_year = sem % 2 == 0
        if first_of_year and sem >= 2:
            _annual_control(cfg, sem, state, regular, self.approved_year, entry_sem, rng, self.status, self.perdidas)
            self.approved_year[:] = 0
        state[(entry_sem == sem)] = ACTIVE
        returning = (state == PAUSED) & (self.resume_at == sem)
        state[returning] = ACTIVE
        _reincorporate(sem, cfg, returning & ~regular, rng, self.status, self.readmissions, self.readmits)
        regular[returning] = True

        # Continuing students decide whether they stay, using last cuatrimestre's hazard.
        continuing = (state == ACTIVE) & (entry_sem < sem) & ~returning
        leaving = continuing & (rng.random(n) < self.next_hazard)
        stopout = leaving & (rng.random(n) < 0.25)
        abandon_now = leaving & (rng.random(n) < 0.4)
        leave_mode[:] = 0
        leave_mode[abandon_now] = 1
        gone_before = leaving & ~abandon_now
        _leave(gone_before, stopout, sem, state, self.resume_at, self.dropout_sem, rng, offset=0)

        active = np.flatnonzero(state == ACTIVE)
        z_now = st["z"] + 0.5 * (self.starts_work & (self.resurvey_sem >= 0) & (sem >= self.resurvey_sem))
        if first_of_year:
            reentry = active[(entry_sem[active] < sem)]
            _reinscribe(reentry, year, rng, self.reins, early=True)
        elif returning.any():
            _reinscribe(np.flatnonzero(returning), year, rng, self.reins, early=False)

        approved_before = approved.sum(axis=1)
        rows_before = sum(part.size for part in cursadas.columns.get("stu", []))
        att_mean = _cursar(
            cfg, sem, active, st, z_now, leave_mode, regularized, approved, rng, cursadas, self.annual, self.in_progress
        )
        if self.annual is not None:
            if self.started_annual is not None:
                self.finished_annual.append(
                    shapes.finish_annual(
                        self.started_annual, state, leave_mode, regularized, approved, self.in_progress
                    )
                )
            self.started_annual = shapes.started_annual(cursadas, sem, rows_before) if sem % 2 == 0 else None
        _rendir(cfg, sem, active[leave_mode[active] == 0], st, z_now, regularized, approved, rng, self.exams)
        gained = approved.sum(axis=1) - approved_before
        self.approved_year += gained

        graduates = active[approved[active].all(axis=1)]
        state[graduates] = GRADUATED
        self.graduation_day[graduates] = day_number(exam_turns(sem, cfg.first_year)[-1])
        self.status.add(
            stu=graduates,
            time=_day_times(self.graduation_day[graduates] + 20, rng),
            calidad=np.full(graduates.size, "P"),
            motivo=np.full(graduates.size, catalogs.MOTIVOS_CALIDAD["egreso"]),
        )

        abandoners = active[(leave_mode[active] == 1) & (state[active] == ACTIVE)]
        _leave(
            abandoners, stopout[abandoners], sem, state, self.resume_at, self.dropout_sem, rng, offset=1, subset=True
        )

        still = active[state[active] == ACTIVE]
        in_career = sem - entry_sem[still]
        enrolled = np.maximum(1, _count(cursadas, sem, still, n))
        perf = gained[still] / enrolled
        logit = (
            -2.4
            + 1.0 * z_now[still]
            - 1.6 * (perf - 0.4)
            - 2.0 * (att_mean[still] - 0.75)
            - 0.3 * st["engagement"][still]
            + 0.7 * (in_career < 2)
            + 0.3 * (in_career < 4)
        )
        self.next_hazard[:] = 0.0
        self.next_hazard[still] = sigmoid(logit)
        self.truth.add(stu=still, sem=np.full(still.size, sem), hazard=self.next_hazard[still], z=z_now[still])
        if sem < self.state_by_sem.shape[1]:
            self.state_by_sem[:, sem] = state

    def replicate(self, who: np.ndarray, copies: int, rng: np.random.Generator | None) -> Simulation:
        """A simulation of `copies` replicas of the students `who` (replica r of who[i] is student r * who.size +
        i) in this one's state, with its own random stream and no events yet but the annual courses under way."""
        twin = object.__new__(Simulation)
        twin.cfg, twin.index, twin.n, twin.rng = self.cfg, self.index, who.size * copies, rng
        twin.streams = None
        twin.st = {name: _tile(values[who], copies) for name, values in self.st.items()}
        for name in PER_STUDENT:
            setattr(twin, name, _tile(getattr(self, name)[who], copies))
        twin.annual = self.annual
        twin.finished_annual = []
        twin.cursadas, twin.exams, twin.reins, twin.status, twin.perdidas, twin.truth, twin.readmits = (
            Events() for _ in EVENT_KINDS
        )
        twin.started_annual = None
        if self.started_annual is not None:
            # The annual courses begun last cuatrimestre finish (or are left) in the twin's next one.
            rows, stu, subj, result = self.started_annual
            parts = self.cursadas.columns
            last = parts["stu"][-1]
            local = rows - (sum(part.size for part in parts["stu"]) - last.size)
            position = np.full(self.n, -1)
            position[who] = np.arange(who.size)
            keep = position[stu] >= 0
            take = np.tile(local[keep], copies)
            new_stu = (position[stu[keep]][None, :] + who.size * np.arange(copies)[:, None]).ravel()
            columns = {name: values[-1][take] for name, values in parts.items()}
            columns["stu"] = new_stu
            twin.cursadas.add(**columns)
            twin.started_annual = (np.arange(take.size), new_stu, columns["subj"], columns["result"])
        return twin

    def finish(self, cut: bool = True) -> SourceWorld:
        """The SourceWorld of the steps run, with the shapes decided afterwards; `cut` drops what `until` cannot
        know."""
        st = self.st
        st.update(
            state=self.state,
            regular=self.regular,
            dropout_sem=self.dropout_sem,
            graduation_day=self.graduation_day,
            readmissions=self.readmissions,
            entry_sem=self.entry_sem,
            resurvey_sem=self.resurvey_sem,
            starts_work=self.starts_work,
            state_by_sem=self.state_by_sem,
        )
        world = SourceWorld(
            self.index,
            self.cfg,
            st,
            self.cursadas.frame(),
            self.exams.frame(),
            self.reins.frame(),
            self.status.frame(),
            self.perdidas.frame(),
            {},
            self.truth.frame(),
            self.readmits.frame()
            if self.readmits.columns
            else {"stu": np.empty(0, int), "time": np.empty(0, np.int64)},
        )
        shapes.after_simulation(world, self.finished_annual, self.streams)
        if cut:
            _cut_at(world, day_number(self.cfg.until))
        return world


def _tile(values: np.ndarray, copies: int) -> np.ndarray:
    return np.tile(values, (copies,) + (1,) * (values.ndim - 1))


def _entry_times(cfg: GeneratorConfig, cohort: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    days = np.array([day_number(dt.date(int(y), 3, 1)) for y in cohort]) - rng.integers(5, 25, cohort.size)
    return _day_times(days, rng)


def _day_times(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Epoch seconds at an office hour in Buenos Aires (UTC-3) on each day."""
    return days.astype(np.int64) * 86400 + 3 * 3600 + rng.integers(8 * 3600, 20 * 3600, days.size)


def _leave(
    who: np.ndarray,
    stopout: np.ndarray,
    sem: int,
    state: np.ndarray,
    resume_at: np.ndarray,
    dropout_sem: np.ndarray,
    rng: np.random.Generator,
    offset: int,
    subset: bool = False,
) -> None:
    """Students stop attending from cuatrimestre sem+offset: for good, or for one to three cuatrimestres."""
    idx = who if subset else np.flatnonzero(who)
    stop = stopout if subset else stopout[idx]
    if idx.size == 0:
        return
    pause = rng.integers(1, 4, idx.size)
    state[idx] = np.where(stop, PAUSED, DROPPED)
    resume_at[idx] = np.where(stop, sem + offset + pause, -1)
    first_missing = sem + offset
    dropout_sem[idx] = np.where(stop, dropout_sem[idx], first_missing)


def _annual_control(
    cfg: GeneratorConfig,
    sem: int,
    state: np.ndarray,
    regular: np.ndarray,
    approved_year: np.ndarray,
    entry_sem: np.ndarray,
    rng: np.random.Generator,
    status: Events,
    perdidas: Events,
) -> None:
    """Each April, students who passed fewer than two subjects last year lose regularity (Ley 24.521 art. 50)."""
    year = cfg.first_year + sem // 2
    eligible = regular & (entry_sem <= sem - 2) & (state != GRADUATED) & (state != NOT_ENTERED)
    weak = eligible & (approved_year < 2)
    process_p = np.where(state == DROPPED, 0.6, np.where(state == PAUSED, 0.8, 0.5))
    lose = np.flatnonzero(weak & (rng.random(state.size) < process_p))
    if lose.size == 0:
        return
    day = day_number(dt.date(year, 4, 20)) + rng.integers(0, 10, lose.size)
    perdidas.add(
        stu=lose,
        anio=np.full(lose.size, year - 1),
        day=day,
        desde=np.full(lose.size, day_number(dt.date(year - 1, 3, 1))),
        hasta=np.full(lose.size, day_number(dt.date(year, 3, 1)) - 1),
    )
    status.add(
        stu=lose,
        time=_day_times(day, rng),
        calidad=np.full(lose.size, "P"),
        motivo=np.full(lose.size, catalogs.MOTIVOS_CALIDAD["perdida"]),
    )
    regular[lose] = False
    # Students still attending ask for reincorporation within a few weeks.
    back = lose[(state[lose] == ACTIVE) & (rng.random(lose.size) < 0.9)]
    status.add(
        stu=back,
        time=_day_times(day_number(dt.date(year, 5, 15)) + rng.integers(0, 40, back.size), rng),
        calidad=np.full(back.size, "A"),
        motivo=np.full(back.size, catalogs.MOTIVOS_CALIDAD["reincorporacion"]),
    )
    regular[back] = True


def _reincorporate(
    sem: int,
    cfg: GeneratorConfig,
    who: np.ndarray,
    rng: np.random.Generator,
    status: Events,
    readmissions: np.ndarray,
    readmits: Events,
) -> None:
    idx = np.flatnonzero(who)
    if idx.size == 0:
        return
    start = class_period(sem, cfg.first_year)[0]
    days = day_number(start) - rng.integers(3, 20, idx.size)
    times = _day_times(days, rng)
    status.add(
        stu=idx,
        time=times,
        calidad=np.full(idx.size, "A"),
        motivo=np.full(idx.size, catalogs.MOTIVOS_CALIDAD["reincorporacion"]),
    )
    readmissions[idx] += 1
    readmits.add(stu=idx, time=times)


def _reinscribe(idx: np.ndarray, year: int, rng: np.random.Generator, reins: Events, early: bool) -> None:
    if idx.size == 0:
        return
    base = day_number(dt.date(year, 2, 10)) if early else day_number(dt.date(year, 7, 20))
    days = base + rng.integers(0, 40, idx.size)
    reins.add(stu=idx, anio=np.full(idx.size, year), time=_day_times(days, rng))


def _first_k(mask: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the first k[i] True cells of each row of mask, in column order."""
    order = np.argsort(~mask, axis=1, kind="stable")
    width = min(int(k.max(initial=0)), mask.shape[1])
    if width == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    cols = order[:, :width]
    take = (np.arange(width)[None, :] < k[:, None]) & np.take_along_axis(mask, cols, axis=1)
    rows = np.broadcast_to(np.arange(mask.shape[0])[:, None], cols.shape)
    return rows[take], cols[take]


def _cursar(
    cfg: GeneratorConfig,
    sem: int,
    active: np.ndarray,
    st: dict,
    z_now: np.ndarray,
    leave_mode: np.ndarray,
    regularized: np.ndarray,
    approved: np.ndarray,
    rng: np.random.Generator,
    cursadas: Events,
    annual: np.ndarray | None = None,
    in_progress: np.ndarray | None = None,
) -> np.ndarray:
    """Course enrolments and their results; returns each student's mean attendance this cuatrimestre.

    With `annual` (the plan positions taught March to November), an annual course starts only in the first
    cuatrimestre and its result counts once the year ends (shapes.finish_annual), not now.
    """
    n = st["z"].size
    att_mean = np.zeros(n)
    if active.size == 0:
        return att_mean
    ab = st["ability"][active]
    load = np.clip(
        np.rint(4.2 - 0.35 * st["hours"][active] + 0.4 * (ab > 0.8) + rng.normal(0, 0.6, active.size)), 1, 5
    ).astype(int)
    todo = ~(regularized[active] | approved[active])
    if annual is not None:
        todo &= ~in_progress[active]
        if sem % 2 == 1:
            todo &= ~annual[None, :]
    rows, subj = _first_k(todo, load)
    stu = active[rows]
    m = stu.size
    eng, z, abil = st["engagement"][stu], z_now[stu], st["ability"][stu]
    abandons = leave_mode[stu] == 1
    att = np.clip(0.8 + 0.07 * eng - 0.05 * z + rng.normal(0, 0.09, m), 0.05, 1.0)
    att = np.where(abandons, rng.uniform(0.03, 0.35, m), att)
    absent = np.where(abandons, rng.random(m) < 0.9, rng.random(m) < sigmoid(-2.6 - 0.9 * eng + 0.6 * z))
    q = 0.9 * abil - 0.4 * z + 0.3 * eng + rng.normal(0, 1.0, m)
    promotable = subj % 3 == 0
    result = np.where(
        absent,
        "U",
        np.where((q > 1.1) & (att >= 0.75) & promotable, "P", np.where((q > -0.7) & (att >= 0.6), "A", "R")),
    )
    grade = np.where(
        result == "P", rng.uniform(7, 10, m), np.where(result == "A", rng.uniform(4, 9, m), rng.uniform(1, 3.99, m))
    )
    grade = np.where(result == "U", np.nan, np.round(grade * 2) / 2)
    now = np.ones(m, dtype=bool) if annual is None else ~annual[subj]
    regularized[stu[now & (result == "A")], subj[now & (result == "A")]] = True
    approved[stu[now & (result == "P")], subj[now & (result == "P")]] = True
    regularized[stu[now & (result == "P")], subj[now & (result == "P")]] = True
    if annual is not None:
        in_progress[stu[~now], subj[~now]] = True
    extra = {} if annual is None else {"annual": ~now}
    cursadas.add(
        stu=stu,
        sem=np.full(m, sem),
        subj=subj,
        att=att,
        result=result,
        grade=grade,
        inscr_time=_day_times(day_number(class_period(sem, cfg.first_year)[0]) - rng.integers(1, 20, m), rng),
        site=st["site"][stu],
        **extra,
    )
    sums = np.bincount(stu, weights=att, minlength=n)
    counts = np.bincount(stu, minlength=n)
    att_mean[counts > 0] = sums[counts > 0] / counts[counts > 0]
    return att_mean


def _rendir(
    cfg: GeneratorConfig,
    sem: int,
    who: np.ndarray,
    st: dict,
    z_now: np.ndarray,
    regularized: np.ndarray,
    approved: np.ndarray,
    rng: np.random.Generator,
    exams: Events,
) -> None:
    """Exam turns closing the cuatrimestre: students sit their regularised, not yet approved subjects."""
    for turn_no, turn in enumerate(exam_turns(sem, cfg.first_year)):
        if who.size == 0:
            return
        pending = regularized[who] & ~approved[who]
        k = np.clip(1 + (st["engagement"][who] > 0) + (rng.random(who.size) < 0.3), 0, 3).astype(int)
        rows, subj = _first_k(pending, k)
        stu = who[rows]
        m = stu.size
        if m == 0:
            continue
        eng, z, abil = st["engagement"][stu], z_now[stu], st["ability"][stu]
        q = abil - 0.35 * z + 0.15 * eng + rng.normal(0, 1.0, m)
        passed = q > -0.35
        absent = ~passed & (rng.random(m) < 0.35)
        failed_n = ~passed & ~absent & (rng.random(m) < 0.1)
        result = np.where(passed, "A", np.where(absent, "U", np.where(failed_n, "N", "R")))
        grade = np.where(passed, rng.integers(4, 11, m), rng.integers(1, 4, m)).astype(float)
        grade = np.where(passed & (rng.random(m) < 0.15), grade - 0.5 * (grade > 4), grade)
        grade[absent] = np.nan
        approved[stu[passed], subj[passed]] = True
        # One llamado per subject and turn: its date and start time depend on the subject only.
        exam_day = day_number(turn) + subj % 8
        exams.add(
            stu=stu,
            sem=np.full(m, sem),
            subj=subj,
            turn=np.full(m, turn_no),
            day=exam_day,
            result=result,
            grade=grade,
            libre=np.zeros(m, dtype=bool),
            inscr_time=_day_times(exam_day - rng.integers(3, 12, m), rng),
            start_minute=np.array([8 * 60, 9 * 60, 14 * 60, 18 * 60, 21 * 60 + 30])[subj % 5],
            site=st["site"][stu],
        )


def _count(cursadas: Events, sem: int, idx: np.ndarray, n: int) -> np.ndarray:
    parts = cursadas.columns.get("stu", [])
    if not parts or cursadas.columns["sem"][-1][:1].tolist() != [sem]:
        return np.zeros(idx.size)
    return np.bincount(parts[-1], minlength=n)[idx]


def _cut_at(world: SourceWorld, until: int) -> None:
    """Drop every event dated after `until`: the sources are a snapshot taken that day."""
    limit = (until + 1) * 86400
    for frame, key, scale in (
        (world.cursadas, "inscr_time", 1),
        (world.exams, "inscr_time", 1),
        (world.reinscriptions, "time", 1),
        (world.status, "time", 1),
        (world.perdidas, "day", 86400),
    ):
        if not frame:
            continue
        keep = frame[key] * scale < limit
        for name in list(frame):
            frame[name] = frame[name][keep]
    if world.cursadas:
        # Results exist only once classes are over; before that the inscription has no result yet.
        pending = shapes.cursada_end_days(world) > until
        world.cursadas["result"] = np.where(pending, "", world.cursadas["result"])
    if world.exams:
        pending = world.exams["day"] > until
        world.exams["result"] = np.where(pending, "", world.exams["result"])
    # A graduation is known once its certificate exists.
    late = shapes.certificate_days(world) > until
    world.students["graduation_day"] = np.where(late, -1, world.students["graduation_day"])
