"""Gold's dropout label (gold_tft_training_dataset) computed on a simulated history instead of the warehouse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from dwh.synthetic import shapes
from dwh.synthetic.guarani_shapes import local_days
from dwh.synthetic.params import GeneratorConfig, academic_year, semester_start
from dwh.synthetic.simulate import EPOCH, SourceWorld, day_number

ABSENT_OR_PENDING = ("U", "")


@dataclass(frozen=True)
class LabelRules:
    """gold.seed_label_params and gold.seed_semester_calendar: the horizon N, whether a loss of regularity is a
    dropout, and per cuatrimestre the (month, day) of its as-of date and of its closing date."""

    horizon: int = 2
    loss_is_dropout: bool = True
    as_of: tuple[tuple[int, int], tuple[int, int]] = ((7, 31), (12, 31))
    closing: tuple[tuple[int, int], tuple[int, int]] = ((8, 31), (3, 31))

    def days(self, first_year: int, semesters: int) -> tuple[np.ndarray, np.ndarray]:
        """As-of and closing day numbers of simulation semesters 0 .. semesters-1 (as gold_tft_known_future)."""
        as_of, closing = [], []
        for sem in range(semesters):
            year, cuatrimestre = first_year + sem // 2, sem % 2
            month, day = self.as_of[cuatrimestre]
            frozen = dt.date(year + 1 if month < 3 else year, month, day)
            month, day = self.closing[cuatrimestre]
            closes = dt.date(frozen.year, month, day)
            closes = closes if closes > frozen else dt.date(frozen.year + 1, month, day)
            as_of.append(day_number(frozen))
            closing.append(day_number(closes))
        return np.array(as_of), np.array(closing)

    def label_days(self, first_year: int, semesters: int) -> np.ndarray:
        """label_as_of_date of the rows of semesters 0 .. semesters-1: the closing day of semester t + N."""
        return self.days(first_year, semesters + self.horizon)[1][self.horizon :]


def semester_of(days: np.ndarray, first_year: int) -> np.ndarray:
    """Simulation semester of day numbers: March-July is cuatrimestre 1, August-February 2 (silver's calendar)."""
    days = np.asarray(days, dtype=np.int64)
    if days.size == 0:
        return days.copy()
    low = 2 * (academic_year(EPOCH + dt.timedelta(days=int(days.min()))) - first_year)
    high = 2 * (academic_year(EPOCH + dt.timedelta(days=int(days.max()))) - first_year) + 2
    starts = np.array([day_number(semester_start(s, first_year)) for s in range(low, high)])
    return np.searchsorted(starts, days, side="right") - 1 + low


def activity(world: SourceWorld) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(student, semester it belongs to, day Guaraní knew it) of every academic activity.

    Results that are not absences count by their own day: an acta closed late never decides a label here,
    since each such result comes with an inscription of its semester known earlier, except an annual course's
    November result, whose acta (at most 90 days late) is known months before the label's day.
    """
    cfg, c, e, r = world.config, world.cursadas, world.exams, world.reinscriptions
    parts = []
    if c:
        parts.append((c["stu"], c["sem"], local_days(c["inscr_time"])))
        done = ~np.isin(c["result"], ABSENT_OR_PENDING)
        end = shapes.cursada_end_days(world)[done]
        parts.append((c["stu"][done], semester_of(end, cfg.first_year), end))
    if e:
        parts.append((e["stu"], semester_of(e["day"], cfg.first_year), local_days(e["inscr_time"])))
        done = ~np.isin(e["result"], ABSENT_OR_PENDING)
        parts.append((e["stu"][done], semester_of(e["day"][done], cfg.first_year), e["day"][done]))
    if r:
        # a reinscription for year Y is the decision to go on into Y's first cuatrimestre
        parts.append((r["stu"], 2 * (r["anio"] - cfg.first_year), local_days(r["time"])))
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return tuple(np.concatenate([np.asarray(p[i], dtype=np.int64) for p in parts]) for i in range(3))


def _reincorporations(world: SourceWorld) -> tuple[np.ndarray, np.ndarray]:
    """(student, day) of each status change from P back to A (silver.fact_dropout's reincorporacion)."""
    s = world.status
    order = np.lexsort((s["time"], s["stu"]))
    stu, calidad = s["stu"][order], s["calidad"][order]
    back = np.zeros(order.size, dtype=bool)
    back[1:] = (calidad[1:] == "A") & (calidad[:-1] == "P") & (stu[1:] == stu[:-1])
    return stu[back], local_days(s["time"][order][back])


def _graduations(world: SourceWorld) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(student, last exam day, day it was known: the first status P on or after it) of each graduate."""
    grad = world.students["graduation_day"]
    who = np.flatnonzero(grad >= 0)
    s = world.status
    p_stu, p_day = s["stu"][s["calidad"] == "P"], local_days(s["time"][s["calidad"] == "P"])
    order = np.lexsort((p_day, p_stu))
    keys = p_stu[order].astype(np.int64) * 10**7 + p_day[order]
    at = np.searchsorted(keys, who.astype(np.int64) * 10**7 + grad[who])
    found = at < keys.size
    found[found] = p_stu[order][at[found]] == who[found]
    known = grad[who].copy()
    known[found] = p_day[order][at[found]]
    return who, grad[who], known


def _rows_seeing(
    sem: np.ndarray, known: np.ndarray, label_day: np.ndarray, low: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """(record, row semester t) for each row t >= low whose window t+1 .. t+N holds a record of semester `sem`
    that was known by t's label day."""
    records, rows = [], []
    for h in range(1, horizon + 1):
        row = sem - h
        ok = (row >= low) & (row < label_day.size) & (known <= label_day[np.clip(row, 0, label_day.size - 1)])
        records.append(np.flatnonzero(ok))
        rows.append(row[records[-1]])
    return np.concatenate(records), np.concatenate(rows)


def _first_reincorporation(world: SourceWorld) -> tuple[np.ndarray, np.ndarray]:
    """Per loss of regularity, the day and semester of the student's first reincorporation on or after it (the
    largest int64 without one): if that one does not clear the loss in a window, no later one does."""
    p, big = world.perdidas, np.iinfo(np.int64).max
    r_stu, r_day = _reincorporations(world)
    order = np.lexsort((r_day, r_stu))
    keys = r_stu[order].astype(np.int64) * 10**7 + r_day[order]
    at = np.searchsorted(keys, p["stu"].astype(np.int64) * 10**7 + p["day"])
    has = at < keys.size
    has[has] = r_stu[order][at[has]] == p["stu"][has]
    day, sem = np.full(has.size, big), np.full(has.size, big)
    day[has] = r_day[order][at[has]]
    sem[has] = semester_of(day[has], world.config.first_year)
    return day, sem


def label_rows(world: SourceWorld, stu: np.ndarray, t: np.ndarray, rules: LabelRules) -> dict[str, np.ndarray]:
    """abandono, perdida_regularidad and target of the rows (stu, t) with gold's semantics, as floats; NaN
    where gold has no such row: not entered by t, or graduated by t (known by the label's day).

    Each fact counts in its academic semester and only if known by label_as_of_date, the closing day of t + N.
    """
    cfg, horizon = world.config, rules.horizon
    n = world.students["z"].size
    label_day = rules.label_days(cfg.first_year, int(max(cfg.n_semesters, np.max(t, initial=0) + 1)))
    # activity and unresolved losses per student and row semester, over the rows' semesters only
    low = int(np.min(t, initial=0))
    active = np.zeros((n, label_day.size - low), dtype=bool)
    lost = np.zeros((n, label_day.size - low), dtype=bool)

    a_stu, a_sem, a_known = activity(world)
    record, row = _rows_seeing(a_sem, a_known, label_day, low, horizon)
    active[a_stu[record], row - low] = True

    p = world.perdidas
    if p and p["stu"].size:
        back_day, back_sem = _first_reincorporation(world)
        record, row = _rows_seeing(semester_of(p["day"], cfg.first_year), p["day"], label_day, low, horizon)
        cleared = (back_sem[record] <= row + horizon) & (back_day[record] <= label_day[row])
        lost[p["stu"][record][~cleared], row[~cleared] - low] = True

    g_stu, g_day, g_known = _graduations(world)
    graduated_sem = np.full(n, np.iinfo(np.int64).max)
    known_day = np.full(n, np.iinfo(np.int64).max)
    graduated_sem[g_stu] = semester_of(g_day, cfg.first_year)
    known_day[g_stu] = g_known
    graduate_known = known_day[stu] <= label_day[t]
    graduates = graduate_known & (graduated_sem[stu] <= t + horizon)
    no_row = (graduate_known & (graduated_sem[stu] <= t)) | (world.students["entry_sem"][stu] > t)

    abandono = ~graduates & ~active[stu, t - low]
    perdida = ~graduates & lost[stu, t - low]
    target = abandono | (rules.loss_is_dropout & perdida)
    return {
        name: np.where(no_row, np.nan, values.astype(float))
        for name, values in (("abandono", abandono), ("perdida_regularidad", perdida), ("target", target))
    }


def realised_labels(world: SourceWorld, stu: np.ndarray, t: np.ndarray, rules: LabelRules) -> dict[str, np.ndarray]:
    """label_rows on the history as the sources hold it, NaN too where the label is not decided by the day the
    sources were read (a censored row, not a negative)."""
    cfg: GeneratorConfig = world.config
    out = label_rows(world, stu, t, rules)
    label_day = rules.label_days(cfg.first_year, int(np.max(t, initial=0)) + 1)
    undecided = label_day[t] > day_number(cfg.today)
    return {name: np.where(undecided, np.nan, values) for name, values in out.items()}


def enrolled_ahead(world: SourceWorld, stu: np.ndarray, t: np.ndarray, rules: LabelRules) -> np.ndarray:
    """gold's inscripto_siguiente of the rows (stu, t): a course inscription of a later semester dated in the
    row's window (previous as-of day, as-of day of t]; the one part of the future the freeze already shows."""
    c, cfg = world.cursadas, world.config
    if not c:
        return np.zeros(stu.size, dtype=bool)
    semesters = int(max(cfg.n_semesters, np.max(t, initial=0) + 1)) + 1
    as_of = rules.days(cfg.first_year, semesters)[0]
    day = local_days(c["inscr_time"])
    row = np.searchsorted(as_of, day)  # the semester whose window holds the inscription's day
    ahead = c["sem"] > row
    seen = np.unique(c["stu"][ahead].astype(np.int64) * semesters + row[ahead])
    return np.isin(stu.astype(np.int64) * semesters + t, seen)
