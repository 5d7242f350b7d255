"""Rows of the `negocio` tables for the shapes of real Guaraní data, and the ground truth each one hides."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dwh.synthetic.arrow_util import dates, ints, table, texts
from dwh.synthetic.params import SUBJECTS_PER_PLAN, GeneratorConfig, annual_class_period, annual_subjects

EPOCH = dt.date(1970, 1, 1)
LOCAL_UTC_OFFSET = 3 * 3600  # Buenos Aires, UTC-3 since 2009


def _day(date: dt.date) -> int:
    return (date - EPOCH).days


def local_days(seconds: np.ndarray) -> np.ndarray:
    """Buenos Aires day numbers of epoch seconds."""
    return (np.asarray(seconds, dtype=np.int64) - LOCAL_UTC_OFFSET) // 86400


def academic_years(days: np.ndarray) -> np.ndarray:
    """Academic year (March to February) of day numbers."""
    stamps = np.asarray(days, dtype="datetime64[D]")
    year = stamps.astype("datetime64[Y]").astype(int) + 1970
    month = (stamps.astype("datetime64[M]").astype(int) % 12) + 1
    return np.where(month >= 3, year, year - 1)


# -- annual courses ------------------------------------------------------------------------------------
def annual_first_id(cfg: GeneratorConfig) -> int:
    """Periodo (and periodo lectivo) id of the first annual period: after the cuatrimestres' ids."""
    return cfg.n_semesters + 3


def annual_periods(cfg: GeneratorConfig) -> tuple[pa.Table, pa.Table]:
    """sga_periodos and sga_periodos_lectivos rows of the annual periods (March to February, classes to November)."""
    years = np.arange(cfg.first_year, cfg.last_year + 2)
    ids = annual_first_id(cfg) + (years - cfg.first_year)
    periodos = table(
        periodo=ints(ids),
        nombre=texts(np.array([f"Anual {y}" for y in years], dtype=object)),
        anio_academico=ints(years),
        periodo_generico=ints(np.full(years.size, 4)),
        fecha_inicio=dates([_day(dt.date(int(y), 3, 1)) for y in years]),
        fecha_fin=dates([_day(dt.date(int(y) + 1, 3, 1)) - 1 for y in years]),
    )
    lectivos = table(
        periodo_lectivo=ints(ids),
        periodo=ints(ids),
        fecha_inicio_dictado=dates([_day(annual_class_period(int(y))[0]) for y in years]),
        fecha_fin_dictado=dates([_day(annual_class_period(int(y))[1]) for y in years]),
    )
    return periodos, lectivos


def annual_lectivos(cfg: GeneratorConfig, sem: np.ndarray, elemento: np.ndarray, lectivo: np.ndarray) -> np.ndarray:
    """A comisión of an annual subject belongs to its year's annual periodo lectivo."""
    annual = annual_subjects()[(elemento - 1) % SUBJECTS_PER_PLAN]
    return np.where(annual, annual_first_id(cfg) + sem // 2, lectivo)


# -- actas recorded after the exam -----------------------------------------------------------------------
def acta_lags(keys: np.ndarray, srng: np.random.Generator) -> np.ndarray:
    """Days from the exam (or the end of classes) to the closing of its acta, one draw per acta: mostly one
    to three weeks, a quarter of them a month or two more."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    k = uniq.size
    lag = srng.integers(2, 22, k) + (srng.random(k) < 0.25) * srng.integers(14, 70, k)
    return lag[inverse]


def acta_truth(parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]]) -> pa.Table:
    """One row per acta: the day of the exam (or end of classes) and the day the acta was closed."""
    ids = np.concatenate([p[0] for p in parts])
    return table(
        id_acta=ints(ids),
        origen=texts(np.concatenate([np.asarray(p[1], dtype=object) for p in parts])),
        fecha_examen=dates(np.concatenate([p[2] for p in parts])),
        fecha_registro=dates(np.concatenate([p[3] for p in parts])),
    )


def per_acta(acta: np.ndarray, values: np.ndarray, n_actas: int) -> np.ndarray:
    """A per-row value that is the same for every row of an acta, as one value per acta (1-based ids)."""
    out = np.zeros(n_actas, dtype=np.int64)
    out[acta - 1] = values
    return out


# -- cursadas: annual courses, results recorded late, bajas ------------------------------------------------
def cursada_truth(
    c: dict,
    order: np.ndarray,
    alumno: np.ndarray,
    end_day: np.ndarray,
    result_rows: np.ndarray,
    recorded: np.ndarray,
    until: int,
) -> pa.Table:
    """One row per sga_insc_cursada row (same inscripcion): whether it is annual and was left mid-year, the
    last day of classes, the day its result was recorded, and the day it was cancelled (baja)."""
    m = order.size
    recorded_day = np.full(m, -1, dtype=np.int64)
    recorded_day[result_rows] = recorded
    annual = c.get("annual", np.zeros(m, dtype=bool))
    quit_ = c.get("annual_quit", np.zeros(m, dtype=bool))
    baja = c.get("baja_day", np.full(m, -1))
    baja = np.where(baja <= until, baja, -1)
    return table(
        inscripcion=ints(np.arange(m) + 1),
        alumno=ints(alumno[order]),
        anual=pa.array(annual[order], pa.bool_()),
        abandono_anual=pa.array(quit_[order], pa.bool_()),
        fin_cursada=dates(end_day[order]),
        fecha_registro=dates(np.maximum(recorded_day[order], 0), null=recorded_day[order] < 0),
        fecha_baja=dates(np.maximum(baja[order], 0), null=baja[order] < 0),
    )


# -- a census updated in place ----------------------------------------------------------------------------
def set_rows(t: pa.Table, column: str, rows: np.ndarray, values: pa.Array) -> pa.Table:
    """The table with `column` replaced at the (ascending) positions `rows` by `values`."""
    field = t.schema.field(column)
    mask = np.zeros(t.num_rows, dtype=bool)
    mask[rows] = True
    merged = pc.replace_with_mask(t.column(column).combine_chunks(), pa.array(mask), values.cast(field.type))
    return t.set_column(t.schema.get_field_index(column), field, merged)


def census_truth(
    censales: pa.Table, before: pa.Table, after: pa.Table, rows: np.ndarray, update_day: np.ndarray
) -> pa.Table:
    """Both versions of every census answered again in place: version 1 valid from the survey, version 2
    from the update; the source keeps only version 2."""
    take = pa.array(rows)
    columns = ("trabajo_existe", "trabajo_hace", "trabajo_carrera", "trabajo_hora_sem", "costeo_estudios_trabajo")
    first, second = before.take(take), after.take(take)
    k = rows.size
    return table(
        dato_censal=ints(np.r_[first.column("dato_censal").to_numpy(), first.column("dato_censal").to_numpy()]),
        persona=ints(np.tile(censales.take(take).column("persona").to_numpy(), 2)),
        version=ints(np.r_[np.ones(k), np.full(k, 2)]),
        vigente_desde=pa.concat_arrays(
            [censales.take(take).column("fecha_relevamiento").combine_chunks(), dates(update_day)]
        ),
        **{c: pa.concat_arrays([first.column(c).combine_chunks(), second.column(c).combine_chunks()]) for c in columns},
    )
