"""The label-matched oracle on small synthetic warehouses: the generator's realised labels are gold's, the
oracle re-simulates futures deterministically and is calibrated on them, and stepping is the generator's."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bronze_support import wh, write_config
from pg_util import execute, query

from dwh.ml.oracle import matched_oracle, realised_labels
from dwh.ops.keys import pseudonym, read_key
from dwh.synthetic import futures
from dwh.synthetic.labels import LabelRules, label_rows
from dwh.synthetic.params import GeneratorConfig
from dwh.synthetic.profile import PROFILES
from dwh.synthetic.simulate import EVENT_KINDS, PER_STUDENT, Simulation, SourceWorld, day_number

AS_OF = "2025-11-27"
LABELS = ["abandono", "perdida_regularidad", "target"]


def _build(make_synthetic, workdir: Path, **fields) -> dict:
    """Generate a synthetic university, run the warehouse on it, and point DWH_CONFIG at it."""
    sources = make_synthetic(**fields)
    config = write_config(
        workdir / "config.py", {n: (u, "moodle" if n == "moodle" else "guarani") for n, u in sources.items()}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(DWH_CONFIG=str(config), DWH_DUCKDB_PATH=str(workdir / "warehouse.duckdb"), DWH_AS_OF=AS_OF)
    done = subprocess.run([sys.executable, "-m", "dwh.main"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    published = workdir / "published" / "warehouse.duckdb"
    gold = pd.DataFrame(
        wh(
            published,
            "SELECT alumno_key, time_idx, CAST(abandono AS INTEGER), CAST(perdida_regularidad AS INTEGER), "
            "CAST(target AS INTEGER), activo FROM gold.gold_tft_training_dataset",
        ),
        columns=["alumno_key", "time_idx", *LABELS, "activo"],
    )
    return {
        "config": config,
        "published": published,
        "gold": gold,
        "sources": sources,
        "warehouse": workdir / "warehouse.duckdb",
    }


def _use(built: dict) -> None:
    """Point this process at a built warehouse: its config and its pseudonym key (beside the warehouse)."""
    os.environ["DWH_CONFIG"] = str(built["config"])
    os.environ["DWH_DUCKDB_PATH"] = str(built["warehouse"])


@pytest.fixture(scope="module")
def realistic(make_synthetic, tmp_path_factory) -> dict:
    return _build(make_synthetic, tmp_path_factory.mktemp("oracle_r"), students=1000, sources=2, years=5, seed=31)


@pytest.fixture(scope="module")
def simple(make_synthetic, tmp_path_factory) -> dict:
    return _build(
        make_synthetic,
        tmp_path_factory.mktemp("oracle_s"),
        students=500,
        sources=1,
        years=4,
        seed=32,
        shapes=PROFILES["simple"],
        moodle=False,
    )


@pytest.fixture(scope="module")
def oracle(realistic) -> dict:
    """The oracle on the last two labelled semesters, twice, with the realised labels of the same rows."""
    _use(realistic)
    gold = realistic["gold"]
    rows = gold[gold["time_idx"] >= gold["time_idx"].max() - 1].reset_index(drop=True)
    first = matched_oracle(realistic["published"], rows)
    second = matched_oracle(realistic["published"], rows)
    return {"rows": rows, "first": first, "second": second}


@pytest.mark.parametrize("profile", ["realistic", "simple"])
def test_the_realised_labels_are_gold_labels(profile, request):
    """The generator's history labelled with gold's rule agrees with gold on every labelled row."""
    built = request.getfixturevalue(profile)
    _use(built)
    gold = built["gold"]
    realised = realised_labels(built["published"], gold)
    assert len(gold) > 300 and realised[LABELS].notna().all().all()
    for name in LABELS:
        differ = gold[gold[name] != realised[name]]
        assert differ.empty, (name, len(differ), differ.head().to_dict("records"))


def test_the_oracle_is_a_deterministic_probability_from_enough_replicas(oracle):
    first, second, rows = oracle["first"], oracle["second"], oracle["rows"]
    pd.testing.assert_frame_equal(first, second)
    assert first.attrs["oracle"] == second.attrs["oracle"]
    assert list(first.columns) == ["alumno_key", "time_idx", "oracle", "replicas_aceptadas"]
    assert first[["alumno_key", "time_idx"]].equals(rows[["alumno_key", "time_idx"]])
    assert first["oracle"].notna().all() and first["oracle"].between(0, 1).all()
    summary = first.attrs["oracle"]
    assert summary["replicas"] == 200 and summary["replicas_simuladas"] >= 200 * len(rows)
    assert summary["filas"] == summary["filas_con_oracle"] == len(rows)
    # acceptance is reported: every row kept some replicas, the rows with few are counted
    assert (first["replicas_aceptadas"] > 0).all() and (first["replicas_aceptadas"] <= 200 * futures.MAX_ROUNDS).all()
    few = int((first["replicas_aceptadas"] < futures.MIN_ACCEPTED).sum())
    assert summary["filas_pocas_aceptadas"] == few and summary["filas_sin_aceptadas"] == 0


def test_the_oracle_is_one_for_students_already_gone_for_good(oracle, realistic):
    """Students the generator had dropped for good by the end of t: no future activity, label 1 surely."""
    origin = int(
        wh(realistic["published"], "SELECT value FROM silver.seed_settings WHERE name = 'anio_relativo_origen'")[0][0]
    )
    first_missing = {}  # alumno_key -> time_idx of the first semester the student no longer attended
    secret = read_key(realistic["warehouse"])  # the pipeline ran without DWH_HASH_SALT: the key file
    for name, url in realistic["sources"].items():
        if name != "moodle":
            for alumno, start in query(
                url,
                "SELECT alumno, dropout_semester_start FROM dwh_synthetic.student_truth WHERE outcome = 'dropped_out'",
            ):
                key = pseudonym(secret, name, alumno)
                first_missing[key] = (start.year - origin) * 2 + (0 if start.month == 3 else 1)
    first = oracle["first"]
    gone = first[[t >= first_missing.get(k, 10**6) for k, t in zip(first["alumno_key"], first["time_idx"])]]
    assert len(gone) > 20
    assert (gone["oracle"] == 1).all() and (gone["replicas_aceptadas"] == 200).all()


def test_the_oracle_is_calibrated_on_the_realised_labels(oracle, realistic):
    """By construction, the realised label is one draw of the future the oracle averages over."""
    rows, first = oracle["rows"], oracle["first"]
    _use(realistic)
    realised = realised_labels(realistic["published"], rows)
    y, p = realised["target"].to_numpy(), first["oracle"].to_numpy()
    assert np.array_equal(y, rows["target"].to_numpy())

    def within(mask: np.ndarray) -> tuple[float, float, float]:
        # the label's binomial spread plus the replicas' (p(1-p)/accepted per row), four standard deviations
        spread = np.sqrt(np.sum(p[mask] * (1 - p[mask]) * (1 + 1 / first["replicas_aceptadas"].to_numpy()[mask])))
        return abs(y[mask].sum() - p[mask].sum()), 4 * spread + 1, mask.sum()

    gap, bound, _n = within(np.ones(y.size, dtype=bool))
    assert gap <= bound, (gap, bound)
    for low, high in ((0, 0.05), (0.05, 0.5), (0.5, 0.99), (0.99, 1.01)):
        gap, bound, n = within((p >= low) & (p < high))
        assert n > 10 and gap <= bound, (low, high, gap, bound, n)


def test_no_oracle_without_a_synthetic_source(fresh_database, tmp_path):
    url = fresh_database("oracle_real")
    os.environ["DWH_CONFIG"] = str(write_config(tmp_path / "config.py", {"guarani_a": (url, "guarani")}))
    rows = pd.DataFrame({"alumno_key": ["x"], "time_idx": [40]})
    assert matched_oracle(tmp_path / "unused.duckdb", rows) is None
    assert realised_labels(tmp_path / "unused.duckdb", rows) is None


def test_a_database_the_generator_did_not_make_is_refused_by_name(realistic):
    _use(realistic)
    url = realistic["sources"]["guarani_b"]
    secret = read_key(realistic["warehouse"])
    of_b = {pseudonym(secret, "guarani_b", a) for (a,) in query(url, "SELECT alumno FROM negocio.sga_alumnos")}
    gold = realistic["gold"]
    rows = gold[gold["alumno_key"].isin(of_b)].head(5)  # rows of guarani_b, whatever the table's order
    assert len(rows) == 5
    execute(url, "UPDATE dwh_synthetic.generation SET value = '33' WHERE key = 'seed'")
    try:
        with pytest.raises(ValueError, match="guarani_b"):
            realised_labels(realistic["published"], rows)
    finally:
        execute(url, "UPDATE dwh_synthetic.generation SET value = '31' WHERE key = 'seed'")


def test_stepping_from_a_captured_state_with_the_same_stream_is_the_generator():
    """A one-copy replica of every student, given the original stream, steps the very same future."""
    cfg = GeneratorConfig(students=400, sources=2, years=4, seed=3, until=dt.date(2025, 11, 27))
    for index in (0, 1):
        own, n = cfg.for_source(index), 200
        sim = Simulation(own, index, n)
        t = 4  # a first cuatrimestre: annual courses under way carry over
        for sem in range(t + 1):
            sim.step(sem)
        stream = np.random.default_rng()
        stream.bit_generator.state = sim.rng.bit_generator.state
        twin = sim.replicate(np.arange(n), 1, stream)
        assert twin.started_annual is not None and twin.started_annual[0].size > 0
        done = {kind: sum(part.size for part in getattr(sim, kind).columns.get("stu", [])) for kind in EVENT_KINDS}
        carried, finished, started = twin.started_annual[0].size, len(sim.finished_annual), sim.started_annual[0]
        for sem in range(t + 1, own.n_semesters):
            sim.step(sem)
            twin.step(sem)
        for name in PER_STUDENT:
            assert np.array_equal(getattr(sim, name), getattr(twin, name)), name
        for kind in EVENT_KINDS:
            mine, theirs = getattr(sim, kind).frame(), getattr(twin, kind).frame()
            skip = carried if kind == "cursadas" else 0
            for column, values in mine.items():
                later = theirs.get(column, values[:0])[skip:]
                same = np.array_equal(values[done[kind] :], later, equal_nan=values.dtype.kind == "f")
                assert same, (kind, column)
        # the annual courses finished, as rows of each one's own events (the carried rows come first in the twin)
        rows = sum(part.size for part in sim.cursadas.columns["stu"])
        to_twin = np.full(rows, -1)
        to_twin[started] = np.arange(carried)
        to_twin[done["cursadas"] :] = carried + np.arange(rows - done["cursadas"])
        assert len(sim.finished_annual) - finished == len(twin.finished_annual) > 0
        for real, replayed in zip(sim.finished_annual[finished:], twin.finished_annual):
            assert np.array_equal(to_twin[real], replayed)


def _world(cfg: GeneratorConfig, n: int, **frames: dict) -> SourceWorld:
    students = {"z": np.zeros(n), "graduation_day": np.full(n, -1), "entry_sem": np.zeros(n, dtype=int)}
    students.update(frames.pop("students", {}))
    empty = {name: {} for name in ("cursadas", "exams", "reinscriptions", "status", "perdidas")}
    empty.update(frames)
    return SourceWorld(0, cfg, students, census={}, truth={}, **empty)


def _seconds(*days: str) -> np.ndarray:
    return np.array([day_number(dt.date.fromisoformat(d)) * 86400 + 15 * 3600 for d in days], dtype=np.int64)


def test_the_label_rule_on_hand_computed_cases():
    """Rows of semester 0 (2023's first cuatrimestre), window 2023-2 and 2024-1, decided 31 August 2024."""
    cfg = GeneratorConfig(students=10, sources=1, years=3, until=dt.date(2025, 11, 27), shapes=PROFILES["simple"])
    assert cfg.first_year == 2023
    day = lambda d: day_number(dt.date.fromisoformat(d))  # noqa: E731
    world = _world(
        cfg,
        12,
        cursadas={  # 0: a course in the window; 2: an annual course left (absent in November); 3: passed
            "stu": np.array([0, 2, 3, 6, 7]),
            "sem": np.array([1, 0, 0, 1, 1]),
            "inscr_time": _seconds("2023-08-01", "2023-03-01", "2023-03-01", "2023-08-01", "2023-08-01"),
            "result": np.array(["A", "U", "A", "A", "A"]),
            "annual": np.array([False, True, True, False, False]),
        },
        exams={  # 10: a February exam inscription belongs to 2023's second cuatrimestre
            "stu": np.array([10]),
            "sem": np.array([1]),
            "day": np.array([day("2024-02-20")]),
            "inscr_time": _seconds("2024-02-12"),
            "result": np.array(["U"]),
        },
        reinscriptions={  # 4: for 2024, in the window; 5: a returner's August one for 2023 is semester 0's
            "stu": np.array([4, 5]),
            "anio": np.array([2024, 2023]),
            "time": _seconds("2024-02-15", "2023-08-10"),
        },
        status={  # 7 reincorporated after its loss; 8's certificate known in February, 9's after the label
            "stu": np.array([6, 7, 7, 8, 9]),
            "time": _seconds("2024-04-25", "2024-04-25", "2024-05-20", "2024-02-01", "2024-10-01"),
            "calidad": np.array(["P", "P", "A", "P", "P"]),
            "motivo": np.array([2, 2, 3, 4, 4]),
        },
        perdidas={"stu": np.array([6, 7]), "day": np.array([day("2024-04-25"), day("2024-04-25")])},
        students={  # 11 enters in semester 1
            "graduation_day": np.array([-1] * 8 + [day("2023-12-11"), day("2024-07-20"), -1, -1]),
            "entry_sem": np.array([0] * 11 + [1]),
        },
    )
    labels = label_rows(world, np.arange(12), np.zeros(12, dtype=int), LabelRules())
    expected = {  # student: (abandono, perdida_regularidad, target)
        0: (0, 0, 0),
        1: (1, 0, 1),
        2: (1, 0, 1),
        3: (0, 0, 0),
        4: (0, 0, 0),
        5: (1, 0, 1),
        6: (0, 1, 1),
        7: (0, 0, 0),
        8: (0, 0, 0),
        9: (1, 0, 1),
        10: (0, 0, 0),
    }
    got = {s: tuple(int(labels[name][s]) for name in LABELS) for s in range(11)}
    assert got == expected
    assert all(np.isnan(labels[name][11]) for name in LABELS)  # no row before entering
    # a graduate has no row from its last exam's semester on
    later = label_rows(world, np.array([8, 0]), np.array([1, 1]), LabelRules())
    assert np.isnan(later["target"][0]) and not np.isnan(later["target"][1])
