"""Shapes of real Guaraní data in the simulation: annual courses, second careers, late certificates and bajas,
census answers changed in place, and history migrated from an older system.

Every draw here comes from the shapes' own random stream, so switching a shape off (the `simple` profile)
leaves the rest of the simulation, and its output, exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from dwh.synthetic import catalogs
from dwh.synthetic.params import (
    ACTIVE,
    ANNUAL_CLASSES,
    GeneratorConfig,
    annual_class_period,
    class_period,
    semester_start,
)
from dwh.synthetic.profile import Shapes

EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()
SECOND_CAREER_SHARE = 0.03
CENSUS_IN_PLACE_SHARE = 0.6
BAJA_SHARE_ABSENT, BAJA_SHARE_OTHER = 0.35, 0.01


def _day(date) -> int:
    return date.toordinal() - EPOCH_ORDINAL


def stream(cfg: GeneratorConfig, index: int, shape: str, stage: int = 0) -> np.random.Generator:
    """The random stream of one shape in one source (stage 0: simulation, 1: rows): switching a shape off
    leaves every other shape's draws, and the simple profile's, as they were."""
    return np.random.default_rng([cfg.seed, index, 1000 + Shapes.names().index(shape), stage])


def class_days(first: np.ndarray, last: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Day of each class (columns up to the largest total): evenly spread from the first to the last day."""
    k = np.arange(int(np.max(total, initial=1)))
    return first[:, None] + np.rint(k[None, :] * (last - first)[:, None] / (total[:, None] - 1))


def census_in_place(
    st: dict, starts_work: np.ndarray, entry_sem: np.ndarray, resurvey_sem: np.ndarray, srng: np.random.Generator
) -> np.ndarray:
    """Most students who start working update their entry census in place, two to four years after entry.

    Returns the cuatrimestre from which the new job counts (the latent risk rises then, as for a re-survey).
    """
    n = entry_sem.size
    in_place = starts_work & (srng.random(n) < CENSUS_IN_PLACE_SHARE)
    later = entry_sem + srng.integers(4, 9, n)
    st["census_in_place"] = in_place
    return np.where(in_place, later, resurvey_sem)


def pair_second_careers(cfg: GeneratorConfig, st: dict, n_propuestas: int, srng: np.random.Generator) -> None:
    """A few students are a person who already entered another career two to five years earlier.

    st["first_career"] is the index of that earlier student (-1 for everyone else); the pair shares the
    person's birth date, sex and nationality (and, in the builder, the persona and the Moodle account).
    """
    n = st["z"].size
    first = np.full(n, -1)
    st["first_career"] = first
    if n_propuestas < 2:
        return
    cohort, propuesta = st["cohort"], st["propuesta"]
    second = np.flatnonzero((cohort >= cfg.first_year + 2) & (srng.random(n) < SECOND_CAREER_SHARE))
    pools: dict[tuple[int, int], list[int]] = {}
    for i in srng.permutation(np.setdiff1d(np.arange(n), second)):
        pools.setdefault((int(cohort[i]), int(propuesta[i])), []).append(int(i))
    for b in srng.permutation(second):
        for gap in srng.permutation([2, 3, 4, 5]):
            year = int(cohort[b]) - int(gap)
            options = [p for p in range(n_propuestas) if p != propuesta[b] and pools.get((year, p))]
            if options:
                a = pools[(year, options[int(srng.integers(len(options)))])].pop()
                first[b] = a
                break
    b = np.flatnonzero(first >= 0)
    a = first[b]
    for key in ("birth", "sexo_f", "extranjero", "moodle_user"):
        st[key][b] = st[key][a]
    entry = np.array([_day(semester_start(0, int(y))) for y in cohort[b]], dtype=np.int64)
    st["entry_age"][b] = (entry - st["birth"][b]) // 365


def started_annual(cursadas, sem: int, rows_before: int) -> tuple[np.ndarray, ...] | None:
    """The annual courses begun this cuatrimestre: (rows in the whole frame, student, subject, result)."""
    parts = cursadas.columns
    if not parts.get("sem") or parts["sem"][-1][:1].tolist() != [sem]:
        return None
    local = np.flatnonzero(parts["annual"][-1])
    return local + rows_before, parts["stu"][-1][local], parts["subj"][-1][local], parts["result"][-1][local]


def finish_annual(
    started: tuple[np.ndarray, ...],
    state: np.ndarray,
    leave_mode: np.ndarray,
    regularized: np.ndarray,
    approved: np.ndarray,
    in_progress: np.ndarray,
) -> np.ndarray:
    """November: the annual courses of students still attending count; returns the rows that did."""
    rows, stu, subj, result = started
    attending = (state[stu] == ACTIVE) & (leave_mode[stu] == 0)
    passed = attending & (result == "A")
    promoted = attending & (result == "P")
    regularized[stu[passed | promoted], subj[passed | promoted]] = True
    approved[stu[promoted], subj[promoted]] = True
    in_progress[stu, subj] = False
    return rows[attending]


def cursada_end_days(world) -> np.ndarray:
    """Last day of classes of each cursada row: its cuatrimestre's, or November's for an annual course."""
    cfg, c = world.config, world.cursadas
    ends = np.array([_day(class_period(s, cfg.first_year)[1]) for s in range(cfg.n_semesters + 2)])
    out = ends[c["sem"]]
    if "annual" in c:
        year = cfg.first_year + c["sem"] // 2
        annual_end = np.array([_day(annual_class_period(int(y))[1]) for y in range(cfg.first_year, cfg.last_year + 2)])
        out = np.where(c["annual"], annual_end[year - cfg.first_year], out)
    return out


def certificate_days(world) -> np.ndarray:
    """The day each graduate's certificate exists in Guaraní (-1 for non-graduates)."""
    st = world.students
    if "certificate_day" in st:
        return st["certificate_day"]
    grad = st["graduation_day"]
    return np.where(grad >= 0, grad + 20, -1)


def after_simulation(
    world, finished_annual: list[np.ndarray], streams: Callable[[str], np.random.Generator] | None = None
) -> None:
    """Shapes decided once the history is known: who quit an annual course, when certificates and bajas
    were recorded, and what a migration from an older system left out. `streams` gives each shape's random
    stream (default: the source's own, stream(cfg, index, shape))."""
    cfg, shapes = world.config, world.config.shapes
    draw = streams or (lambda shape: stream(cfg, world.index, shape))
    st = world.students
    st["last_exam_day"] = st["graduation_day"].copy()
    if "annual" in world.cursadas:
        _annual_quits(world, finished_annual, draw("annual_courses"))
    if shapes.readmissions:
        _readmit_after_the_loss(world, draw("readmissions"))
    if shapes.late_certificates:
        _late_certificates(world, draw("late_certificates"))
    if shapes.late_bajas:
        _late_bajas(world, draw("late_bajas"))
    if world.config.detail_from is not None:
        _migrate(world)


def _annual_quits(world, finished: list[np.ndarray], srng: np.random.Generator) -> None:
    """An annual course left in the second cuatrimestre ends absent: the student attended as before until
    the day they left (August or September) and not after. c["quit_day"] is that day, c["att_before_quit"]
    the attendance until then; c["att"] becomes the year's (what Moodle's activity follows)."""
    c, cfg = world.cursadas, world.config
    m = c["stu"].size
    started = np.flatnonzero(c["annual"])
    applied = np.concatenate(finished) if finished else np.empty(0, dtype=np.int64)
    still_running = c["sem"][started] >= cfg.n_semesters - 1
    quit_rows = started[~np.isin(started, applied) & ~still_running]
    year = cfg.first_year + c["sem"][quit_rows] // 2
    quit_day = _per_year(year, lambda y: semester_start(1, y)) + srng.integers(0, 46, quit_rows.size)
    first = _per_year(year, lambda y: annual_class_period(y)[0])
    last = _per_year(year, lambda y: annual_class_period(y)[1])
    before = (class_days(first, last, np.full(quit_rows.size, ANNUAL_CLASSES)) < quit_day[:, None]).sum(axis=1)
    c["result"] = c["result"].copy()
    c["result"][quit_rows] = "U"
    c["grade"][quit_rows] = np.nan
    c["att_before_quit"] = c["att"].copy()
    c["att"][quit_rows] = c["att"][quit_rows] * before / ANNUAL_CLASSES
    c["quit_day"] = np.full(m, -1, dtype=np.int64)
    c["quit_day"][quit_rows] = quit_day
    c["classes_before_quit"] = np.full(m, -1, dtype=np.int64)
    c["classes_before_quit"][quit_rows] = before
    c["annual_quit"] = c["quit_day"] >= 0


def _per_year(year: np.ndarray, day_of: Callable[[int], dt.date]) -> np.ndarray:
    """The day number of day_of(y) for each academic year y (one call per distinct year)."""
    distinct, inverse = np.unique(year, return_inverse=True)
    return np.array([_day(day_of(int(y))) for y in distinct], dtype=np.int64)[inverse.ravel()]


def _readmit_after_the_loss(world, srng: np.random.Generator) -> None:
    """A stop-out who returns in March loses regularity at that April's control: the readmission (and its
    status record) then follows the loss by one to four weeks, as a new application must."""
    r, p, status = world.readmits, world.perdidas, world.status
    if not r["stu"].size or not p or not p["stu"].size:
        return
    loss_day: dict[int, list[int]] = {}
    for stu, day in zip(p["stu"].tolist(), p["day"].tolist()):
        loss_day.setdefault(stu, []).append(day)
    # The reincorporation status rows by (student, time), kept current as they move.
    reincorporation = np.flatnonzero(status["motivo"] == catalogs.MOTIVOS_CALIDAD["reincorporacion"])
    rows_at: dict[tuple[int, int], list[int]] = {}
    for row, stu, time in zip(
        reincorporation.tolist(), status["stu"][reincorporation].tolist(), status["time"][reincorporation].tolist()
    ):
        rows_at.setdefault((stu, time), []).append(row)
    for i, (stu, time) in enumerate(zip(r["stu"].tolist(), r["time"].tolist())):
        day = time // 86400
        later = [d for d in loss_day.get(stu, []) if day <= d <= day + 120]
        if not later:
            continue
        moved = (max(later) + int(srng.integers(7, 29))) * 86400 + time % 86400
        r["time"][i] = moved
        rows = rows_at.pop((stu, time), [])
        status["time"][rows] = moved
        rows_at.setdefault((stu, moved), []).extend(rows)


def _late_certificates(world, srng: np.random.Generator) -> None:
    """Certificates are issued two to eight months after the last exam; the egreso status follows them."""
    st, status = world.students, world.status
    grad = st["graduation_day"]
    st["certificate_day"] = np.where(grad >= 0, grad + srng.integers(60, 241, grad.size), -1)
    egreso = status["motivo"] == catalogs.MOTIVOS_CALIDAD["egreso"]
    seconds = status["time"][egreso] % 86400
    status["time"][egreso] = st["certificate_day"][status["stu"][egreso]].astype(np.int64) * 86400 + seconds


def _late_bajas(world, srng: np.random.Generator) -> None:
    """Some inscriptions are cancelled (estado B) weeks or months after their classes ended, mostly of
    students who stopped coming; Guaraní keeps no date of the change."""
    c = world.cursadas
    m = c["stu"].size
    share = np.where(c["result"] == "U", BAJA_SHARE_ABSENT, BAJA_SHARE_OTHER)
    baja = srng.random(m) < share
    c["baja_day"] = np.where(baja, cursada_end_days(world) + srng.integers(15, 151, m), -1)


def _migrate(world) -> None:
    """Course and exam records before the migration day never reached Guaraní 3."""
    cfg = world.config
    first = _day(cfg.detail_from)
    starts = np.array([_day(semester_start(s, cfg.first_year)) for s in range(cfg.n_semesters + 2)])
    for frame, keep in (
        (world.cursadas, lambda f: starts[f["sem"]] >= first),
        (world.exams, lambda f: f["day"] >= first),
    ):
        if not frame:
            continue
        mask = keep(frame)
        for name in list(frame):
            frame[name] = frame[name][mask]
