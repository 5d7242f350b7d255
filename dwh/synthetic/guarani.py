"""Turn one simulated source into the rows of Guaraní's `negocio` tables (as Arrow tables)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from dwh.synthetic import catalogs, guarani_shapes, shapes
from dwh.synthetic.arrow_util import (
    const,
    dates,
    dense_ids,
    floats,
    from_rows,
    grade_strings,
    grade_text,
    ints,
    local_stamps,
    rank_within,
    stamps,
    table,
    texts,
)
from dwh.synthetic.params import (
    ANNUAL_CLASSES,
    CLASSES_PER_CURSADA,
    SUBJECTS_PER_PLAN,
    class_period,
    semester_start,
)
from dwh.synthetic.simulate import SourceWorld, day_number

TURN_CODES = {(0, 0): 2, (1, 0): 3, (1, 1): 1}  # (cuatrimestre, turn number) -> turno: 1 Feb, 2 Jul, 3 Dic
DNI_BASE = 30_000_000


def build_guarani(
    world: SourceWorld, dni_offset: int, timestamptz_dates: bool
) -> tuple[dict[str, pa.Table], dict[str, np.ndarray]]:
    """All `negocio` rows of one source (`timestamptz_dates`: the deployment variant whose date columns have
    other types), plus the identifiers Moodle and the truth tables need.

    ids["known"] holds, per event table, the local day each row became known in Guaraní (a snapshot keeps
    the rows known by its day) and the shapes' extra state; ids["truth"] the shapes' ground-truth tables.
    """
    b = _Builder(world, dni_offset, timestamptz_dates)
    tables = b.build()
    ids = {
        "alumno": b.alumno,
        "persona": b.persona,
        "usuario": b.usuario,
        "has_usuario": b.has_usuario,
        "elemento_codes": np.asarray(tables["sga_elementos"].column("codigo").to_pylist(), dtype=object),
        "provisional_draw": b.provisional_draw,
        "known": b.known,
        "truth": b.truth,
    }
    return tables, ids


class _Builder:
    def __init__(self, world: SourceWorld, dni_offset: int, tstz: bool) -> None:
        self.w = world
        self.cfg = world.config
        self.st = world.students
        self.n = self.st["z"].size
        self.rng = np.random.default_rng([self.cfg.seed, world.index, 7])
        self.fac = catalogs.FACULTADES[world.index]
        self.shapes = self.cfg.shapes
        self._streams: dict[str, np.random.Generator] = {}
        self.variants = self.shapes.column_variants() if tstz else {}
        self.dni_offset = dni_offset
        self.until = day_number(self.cfg.until)
        self.out: dict[str, pa.Table] = {}
        self.known: dict[str, np.ndarray] = {}
        self.truth: dict[str, pa.Table] = {}

    def build(self) -> dict[str, pa.Table]:
        self._catalogues()
        self._structure()
        self._personas()
        self._alumnos()
        self._census()
        self._cursadas()
        self._exams()
        self._history()
        self._graduates()
        return self.out

    # -- catalogues and academic structure ----------------------------------------------------------
    def _catalogues(self) -> None:
        o = self.out
        o["mug_continentes"] = from_rows(["continente", "nombre"], catalogs.CONTINENTES)
        o["mug_paises"] = from_rows(["pais", "nombre", "continente", "codigo_iso"], catalogs.PAISES)
        o["mug_provincias"] = from_rows(["provincia", "nombre", "pais"], catalogs.PROVINCIAS)
        o["mug_dptos_partidos"] = from_rows(
            ["dpto_partido", "nombre", "provincia", "estado"], [(d, nm, p, "A") for d, nm, p in catalogs.DPTOS]
        )
        o["mug_localidades"] = from_rows(
            ["localidad", "nombre", "nombre_abreviado", "dpto_partido", "ddn"],
            [(loc, nm, nm[:40], d, 261) for loc, nm, d in catalogs.LOCALIDADES],
        )
        o["mdp_nacionalidades"] = from_rows(["nacionalidad", "descripcion"], catalogs.NACIONALIDADES)
        o["mdp_tipo_documento"] = from_rows(
            ["tipo_documento", "descripcion", "desc_abreviada"], catalogs.TIPO_DOCUMENTO
        )
        o["mdp_identidad_genero"] = from_rows(["identidad_genero", "nombre"], catalogs.IDENTIDAD_GENERO)
        o["mdp_estados_civiles"] = from_rows(["estado_civil", "descripcion"], catalogs.ESTADOS_CIVILES)
        o["mdp_tipo_vivienda"] = from_rows(["tipo_vivienda", "descripcion"], catalogs.TIPO_VIVIENDA)
        o["mdp_trabajo_existe"] = from_rows(["trabajo_existe", "descripcion"], catalogs.TRABAJO_EXISTE)
        o["mdp_nivel_estudio"] = from_rows(["nivel_estudio", "descripcion"], catalogs.NIVEL_ESTUDIO)
        o["sga_alumnos_calidad"] = from_rows(["calidad", "nombre"], catalogs.ALUMNOS_CALIDAD)
        o["sga_situacion_aspirante"] = from_rows(
            ["situacion_asp", "nombre", "resultado_asp"], catalogs.SITUACION_ASPIRANTE
        )
        o["sga_tipos_ingreso"] = from_rows(["tipo_ingreso", "nombre"], catalogs.TIPOS_INGRESO)
        o["sga_inscripciones_estados"] = from_rows(["estado", "nombre"], catalogs.INSCRIPCIONES_ESTADOS)
        o["sga_elementos_estados"] = from_rows(["estado", "nombre"], catalogs.ELEMENTOS_ESTADOS)
        o["sga_planes_estados"] = from_rows(["estado", "nombre"], catalogs.PLANES_ESTADOS)
        o["sga_propuestas_tipos"] = from_rows(["propuesta_tipo", "descripcion"], catalogs.PROPUESTAS_TIPOS)
        o["sga_ubicaciones_tipos"] = from_rows(["ubicacion_tipo", "nombre"], catalogs.UBICACIONES_TIPOS)
        o["sga_turnos_cursadas"] = from_rows(["turno", "nombre"], catalogs.TURNOS_CURSADAS)
        o["sga_instancias"] = from_rows(["instancia", "nombre"], catalogs.INSTANCIAS)
        o["sga_periodos_genericos"] = from_rows(
            ["periodo_generico", "nombre", "periodo_generico_tipo", "periodo_lectivo_tipo"],
            [
                (1, "Primer cuatrimestre", 1, 1),
                (2, "Segundo cuatrimestre", 1, 2),
                (3, "Inscripción a propuestas", 4, None),
            ]
            + ([(4, "Anual", 1, 3)] if self.shapes.annual_courses else []),
        )
        o["sga_colegios_secundarios"] = from_rows(
            ["colegio", "nombre", "localidad"],
            [
                (i + 1, nm, catalogs.LOCALIDADES[i % len(catalogs.LOCALIDADES)][0])
                for i, nm in enumerate(catalogs.COLEGIOS)
            ],
        )
        o["sga_instituciones"] = from_rows(
            ["institucion", "nombre", "nombre_abreviado", "localidad"],
            [
                (1, "Universidad Tecnológica Regional", "UTR", 1001),
                (2, "Instituto Superior de Formación Docente", "ISFD", 1002),
            ],
        )
        years = list(range(self.cfg.first_year - 3, self.cfg.last_year + 2))
        o["sga_anios_academicos"] = table(anio_academico=pa.array(years, pa.int64()))

    def _structure(self) -> None:
        o, fac, cfg = self.out, self.fac, self.cfg
        inst_id = 100 + self.w.index
        o["int_arau_instituciones"] = from_rows(
            ["institucion_araucano", "nombre", "institucion_nombre"],
            [(inst_id, fac["institucion"], fac["universidad"])],
        )
        o["sga_ubicaciones"] = from_rows(
            [
                "ubicacion",
                "nombre",
                "ubicacion_tipo",
                "localidad",
                "calle",
                "numero",
                "codigo_postal",
                "institucion_araucano",
            ],
            [
                (i + 1, nm, tipo, loc, "Av. del Libertador", str(100 * (i + 1)), "5500", inst_id)
                for i, (nm, loc, tipo) in enumerate(fac["sedes"])
            ],
        )
        props = fac["propuestas"]
        o["sga_propuestas"] = from_rows(
            [
                "propuesta",
                "nombre",
                "nombre_abreviado",
                "codigo",
                "propuesta_tipo",
                "publica",
                "fecha_alta",
                "estado",
                "entidad",
            ],
            [
                (i + 1, nm, short, code, 2 if code.startswith("T") else 1, "S", dt.date(1995, 3, 1), "A", 1000 + i)
                for i, (nm, short, code) in enumerate(props)
            ],
        )
        o["sga_planes"] = from_rows(
            ["plan", "propuesta", "codigo", "nombre", "estado", "version_actual"],
            [(i + 1, i + 1, f"P{code}", f"Plan {nm}", "V", 2 * i + 2) for i, (nm, _, code) in enumerate(props)],
        )
        self.switch_year = cfg.first_year + cfg.years // 2
        o["sga_planes_versiones"] = from_rows(
            ["plan_version", "plan", "version", "nombre", "estado"],
            [
                row
                for i in range(len(props))
                for row in (
                    (2 * i + 1, i + 1, "2010", f"{props[i][1]} versión 2010", "A"),
                    (2 * i + 2, i + 1, str(self.switch_year), f"{props[i][1]} versión {self.switch_year}", "V"),
                )
            ],
        )
        # Elementos: SUBJECTS_PER_PLAN per propuesta, id = propuesta block + position.
        n_el = len(props) * SUBJECTS_PER_PLAN
        el = np.arange(n_el)
        prop_of = el // SUBJECTS_PER_PLAN
        pos = el % SUBJECTS_PER_PLAN
        words = np.array(catalogs.SUBJECT_WORDS, dtype=object)
        topics = np.array(catalogs.SUBJECT_TOPICS, dtype=object)
        roman = np.array(["I", "II", "III", "IV"], dtype=object)
        names = (
            words[(pos * 7 + prop_of) % words.size]
            + " "
            + topics[(pos * 3 + prop_of * 5) % topics.size]
            + " "
            + roman[pos % 4]
        )
        codes = np.array([f"{props[p][2]}-{q // 8 + 1}{q % 8 + 1:02d}" for p, q in zip(prop_of, pos)], dtype=object)
        o["sga_elementos"] = table(
            elemento=ints(el + 1),
            nombre=texts(names),
            nombre_abreviado=texts(codes),
            codigo=texts(codes),
            estado=texts(const("A", n_el)),
            compartible=texts(const("S", n_el)),
        )
        o["sga_elementos_revision"] = table(elemento_revision=ints(el + 1), elemento=ints(el + 1))
        ev = np.tile(el, 2)
        pv = np.r_[2 * prop_of + 1, 2 * prop_of + 2]
        o["sga_elementos_plan"] = table(
            elemento_plan=ints(np.arange(ev.size) + 1),
            plan_version=ints(pv),
            elemento_revision=ints(ev + 1),
            nombre=texts(names[ev]),
            anio_de_cursada=ints(np.tile(pos // 8 + 1, 2)),
        )
        sems = np.arange(cfg.n_semesters + 2)
        starts = [semester_start(s, cfg.first_year) for s in sems]
        ends = [semester_start(s + 1, cfg.first_year) - dt.timedelta(days=1) for s in sems]
        o["sga_periodos"] = table(
            periodo=ints(sems + 1),
            nombre=texts([f"{'1er' if s % 2 == 0 else '2do'} Cuatrimestre {cfg.first_year + s // 2}" for s in sems]),
            anio_academico=ints(cfg.first_year + sems // 2),
            periodo_generico=ints(sems % 2 + 1),
            fecha_inicio=dates([day_number(d) for d in starts]),
            fecha_fin=dates([day_number(d) for d in ends]),
        )
        o["sga_periodos_lectivos"] = table(
            periodo_lectivo=ints(sems + 1),
            periodo=ints(sems + 1),
            fecha_inicio_dictado=dates([day_number(class_period(s, cfg.first_year)[0]) for s in sems]),
            fecha_fin_dictado=dates([day_number(class_period(s, cfg.first_year)[1]) for s in sems]),
        )
        if self.shapes.annual_courses:
            periodos, lectivos = guarani_shapes.annual_periods(cfg)
            o["sga_periodos"] = pa.concat_tables([o["sga_periodos"], periodos])
            o["sga_periodos_lectivos"] = pa.concat_tables([o["sga_periodos_lectivos"], lectivos])

    # -- people ----------------------------------------------------------------------------------------
    def _personas(self) -> None:
        st, n, rng = self.st, self.n, self.rng
        n_aspirants = max(1, n // 12)
        n_teachers = max(1, n // 50)
        total = n + n_aspirants + n_teachers
        persona_ids = rng.permutation(total) + 1
        self.persona = persona_ids[:n]
        self.aspirant_persona = persona_ids[n : n + n_aspirants]
        female = np.r_[st["sexo_f"], rng.random(total - n) < 0.55]
        first = np.where(
            female,
            rng.choice(np.array(catalogs.NOMBRES_F, dtype=object), total),
            rng.choice(np.array(catalogs.NOMBRES_M, dtype=object), total),
        )
        last = rng.choice(np.array(catalogs.APELLIDOS, dtype=object), total)
        # DNIs never repeat across sources: a person in two sources would be the same person.
        dni = DNI_BASE + self.dni_offset + rng.permutation(total)
        self.dni = dni[:n]
        birth = np.r_[st["birth"], day_number(dt.date(1990, 1, 1)) + rng.integers(-9000, 4000, total - n)]
        foreign = np.r_[st["extranjero"], rng.random(total - n) < 0.03]
        loc_ids = np.array([loc for loc, _, _ in catalogs.LOCALIDADES])
        birthplace = loc_ids[rng.choice(loc_ids.size, total, p=_loc_weights(loc_ids.size))]
        gender = np.where(rng.random(total) < 0.97, np.where(female, 1, 2), rng.integers(3, 7, total))
        usuario = np.array([str(d) for d in dni], dtype=object)
        no_user = rng.random(total) < 0.01
        self.usuario = usuario[:n]
        self.has_usuario = ~no_user[:n]
        self.out["mdp_personas"] = table(
            persona=ints(persona_ids),
            apellido=texts(last),
            nombres=texts(first),
            sexo=texts(np.where(female, "F", "M").astype(object)),
            identidad_genero=ints(gender),
            fecha_nacimiento=dates(birth),
            localidad_nacimiento=ints(birthplace, null=foreign),
            nacionalidad=ints(np.where(foreign, 2, 1)),
            pais_origen=ints(np.where(foreign, 595, 54)),
            documento_principal=ints(persona_ids),
            usuario=texts(usuario, null=no_user),
            autenticacion=texts(const("toba", total)),
            bloqueado=ints(np.zeros(total)),
            email_valido=ints(np.ones(total)),
            tipo_usuario_inicial=texts(
                np.r_[const("Alumno", n), const("Aspirante", n_aspirants), const("Docente", n_teachers)]
            ),
            pertenece_pueblo_originario=texts(np.where(rng.random(total) < 0.02, "S", "N").astype(object)),
        )
        self.out["mdp_personas_documentos"] = table(
            documento=ints(persona_ids),
            persona=ints(persona_ids),
            pais_documento=ints(np.where(foreign, 595, 54)),
            tipo_documento=ints(np.where(foreign, 90, 0)),
            nro_documento=texts(usuario),
            validado_con_renaper=texts(const("S", total)),
        )
        mails = np.char.add(
            np.char.add(np.char.lower(_ascii(first)), "."), np.char.add(np.char.lower(_ascii(last)), dni.astype(str))
        )
        self.out["mdp_personas_contactos"] = table(
            persona_contacto=ints(persona_ids),
            persona=ints(persona_ids),
            contacto_tipo=texts(const("MP", total)),
            email=texts(np.char.add(mails, "@correo.example").astype(object)),
        )
        if self.shapes.second_careers:
            self._merge_second_careers()

    def _merge_second_careers(self) -> None:
        """A second career is a second alumno of the same persona: one person, DNI and login for both."""
        first = self.st["first_career"]
        b = np.flatnonzero(first >= 0)
        a = first[b]
        orphans = self.persona[b].copy()
        for name in ("persona", "dni", "usuario", "has_usuario"):
            values = getattr(self, name).copy()
            values[b] = values[a]
            setattr(self, name, values)
        for name in ("mdp_personas", "mdp_personas_documentos", "mdp_personas_contactos"):
            t = self.out[name]
            self.out[name] = t.filter(pa.array(~np.isin(t.column("persona").to_numpy(), orphans)))
        self.truth["career_truth"] = table(
            alumno=ints(b + 1),
            persona=ints(self.persona[b]),
            primera_carrera_alumno=ints(a + 1),
            anio_ingreso=ints(self.st["cohort"][b]),
            anio_ingreso_primera=ints(self.st["cohort"][a]),
        )

    def _alumnos(self) -> None:
        st, n, rng, cfg = self.st, self.n, self.rng, self.cfg
        self.alumno = np.arange(n) + 1
        self.plan_version = 2 * st["propuesta"] + np.where(st["cohort"] >= self.switch_year, 2, 1)
        status = self.w.status
        order = np.lexsort((status["time"], status["stu"]))
        last_idx = np.full(n, -1)
        last_idx[status["stu"][order]] = order
        calidad = status["calidad"][last_idx]
        motivo = status["motivo"][last_idx]
        regular = np.where(motivo == catalogs.MOTIVOS_CALIDAD["perdida"], "N", "S")
        newest = st["cohort"] == cfg.last_year
        self.provisional_draw = rng.random(n) < 0.04  # kept: a snapshot applies it to its own newest cohort
        provisional = newest & self.provisional_draw
        legajo = np.array(
            [f"{self.fac['propuestas'][p][2]}-{a:06d}" for p, a in zip(st["propuesta"], self.alumno)], dtype=object
        )
        anio_cursada = np.clip((cfg.n_semesters - 1 - st["entry_sem"]) // 2 + 1, 1, 5)
        self.site_id = st["site"] + 1
        self.out["sga_alumnos"] = table(
            alumno=ints(self.alumno),
            persona=ints(self.persona),
            propuesta=ints(st["propuesta"] + 1),
            ubicacion=ints(self.site_id),
            legajo=texts(legajo, null=provisional),
            plan_version=ints(self.plan_version),
            modalidad=texts(np.where(rng.random(n) < 0.94, "P", "D").astype(object)),
            anio_cursada=ints(anio_cursada),
            cnt_readmisiones=ints(st["readmissions"]),
            regular=texts(regular.astype(object)),
            calidad=texts(calidad.astype(object)),
        )
        self._aspirants()

    def _aspirants(self) -> None:
        """One admitted aspirant record per alumno; some have an earlier rejected one; some never enrol."""
        st, n, rng = self.st, self.n, self.rng
        entry_day = np.array([day_number(dt.date(int(y), 3, 1)) for y in st["cohort"]])
        insc_day = entry_day - rng.integers(20, 120, n)
        self.aspira_day = insc_day
        twice = rng.random(n) < 0.08
        k = int(twice.sum())
        m = self.aspirant_persona.size
        persona = np.r_[self.persona, self.persona[twice], self.aspirant_persona]
        propuesta = np.r_[
            st["propuesta"] + 1, st["propuesta"][twice] + 1, rng.integers(1, len(self.fac["propuestas"]) + 1, m)
        ]
        years = np.r_[st["cohort"], st["cohort"][twice] - 1, rng.choice(st["cohort"], m)]
        day = np.r_[
            insc_day, insc_day[twice] - 365, np.array([day_number(dt.date(int(y), 1, 15)) for y in years[n + k :]])
        ]
        situacion = np.r_[np.where(rng.random(n) < 0.9, 2, 1), rng.choice([3, 4], k), rng.choice([3, 4, 5], m)]
        ubic = np.r_[self.site_id, self.site_id[twice], np.ones(m, dtype=int)]
        tipo = np.r_[st["tipo_ingreso"], st["tipo_ingreso"][twice], rng.choice([1, 2], m)]
        plan_version = np.r_[self.plan_version, self.plan_version[twice], 2 * (propuesta[n + k :] - 1) + 2]
        if self.shapes.readmissions:
            # A student readmitted after losing regularity applies again: a new, accepted aspirant record.
            readmitted_by_then = guarani_shapes.local_days(self.w.readmits["time"]) <= self.until
            r_stu = self.w.readmits["stu"][readmitted_by_then]
            r_when = guarani_shapes.local_days(self.w.readmits["time"][readmitted_by_then])
            r_day = r_when - self._rng("readmissions").integers(5, 26, r_stu.size)
            persona = np.r_[persona, self.persona[r_stu]]
            propuesta = np.r_[propuesta, st["propuesta"][r_stu] + 1]
            years = np.r_[years, guarani_shapes.academic_years(r_day)]
            day = np.r_[day, r_day]
            situacion = np.r_[situacion, np.full(r_stu.size, 2)]
            ubic = np.r_[ubic, self.site_id[r_stu]]
            tipo = np.r_[tipo, st["tipo_ingreso"][r_stu]]
            plan_version = np.r_[plan_version, self.plan_version[r_stu]]
        total = persona.size
        order = np.argsort(day, kind="stable")
        rejected = situacion[order] >= 3
        self.out["sga_propuestas_aspira"] = table(
            propuesta_aspira=ints(np.arange(total) + 1),
            persona=ints(persona[order]),
            periodo_insc=ints(years[order] - self.cfg.first_year + 10),
            anio_academico=ints(years[order]),
            propuesta=ints(propuesta[order]),
            plan_version=ints(plan_version[order]),
            modalidad=texts(const("P", total)),
            ubicacion=ints(ubic[order]),
            fecha_inscripcion=dates(day[order]),
            fecha_alta=stamps(day[order].astype(np.int64) * 86400 + 15 * 3600),
            fecha_rechazo=dates(day[order] + 30, null=~rejected),
            tipo_ingreso=ints(tipo[order]),
            insc_fuera_de_termino=texts(const("N", total)),
            situacion_asp=ints(situacion[order]),
            nro_transaccion=ints(np.arange(total) + 500000),
        )
        if self.shapes.readmissions:
            position = np.empty(total, dtype=np.int64)
            position[order] = np.arange(total)
            added = np.arange(total - r_stu.size, total)
            self.truth["readmission_truth"] = table(
                alumno=ints(self.alumno[r_stu]),
                propuesta_aspira=ints(position[added] + 1),
                fecha_inscripcion=dates(r_day),
                fecha_readmision=dates(r_when),
            )

    def _census(self) -> None:
        """Entry census for most students, a second one for some; the second may show a new job."""
        st, rng, n = self.st, self.rng, self.n
        first = st["surveyed"]
        resurvey_day = np.array(
            [day_number(semester_start(int(s), self.cfg.first_year)) - 20 if s >= 0 else 0 for s in st["resurvey_sem"]]
        )
        second = first & st["resurvey"] & (resurvey_day <= self.until) & (resurvey_day > 0)
        in_place = st.get("census_in_place")
        if in_place is not None:
            second &= ~in_place  # their new answers overwrite the entry census instead (_update_census)
        stu = np.r_[np.flatnonzero(first), np.flatnonzero(second)]
        is_second = np.r_[np.zeros(first.sum(), bool), np.ones(second.sum(), bool)]
        day = np.where(is_second, resurvey_day[stu], self.aspira_day[stu] + rng.integers(0, 15, stu.size))
        order = np.lexsort((stu, day))
        stu, is_second, day = stu[order], is_second[order], day[order]
        m = stu.size
        ids = np.arange(m) + 1
        works = st["works"][stu] | (is_second & st["starts_work"][stu])
        hours = np.where(st["works"][stu], st["hours"][stu], np.where(works, rng.integers(3, 6, m), 0))
        self.out["mdp_datos_censales"] = table(
            dato_censal=ints(ids),
            persona=ints(self.persona[stu]),
            fecha_relevamiento=dates(day),
            fecha_actualizacion=dates(day),
        )
        age = st["entry_age"][stu]
        loc_ids = np.array([loc for loc, _, _ in catalogs.LOCALIDADES])
        proc_loc = loc_ids[rng.choice(loc_ids.size, m, p=_loc_weights(loc_ids.size))]
        yn = lambda mask: texts(np.where(mask, "S", "N").astype(object))  # noqa: E731
        self.out["mdp_datos_personales"] = table(
            dato_censal=ints(ids),
            estado_civil=ints(np.where(age >= 25, rng.choice([1, 2, 5], m), 1)),
            unido_hecho=yn(rng.random(m) < 0.05),
            situacion_padre=texts(rng.choice(np.array(["V", "N", "D"], dtype=object), m, p=[0.88, 0.08, 0.04])),
            situacion_madre=texts(rng.choice(np.array(["V", "N", "D"], dtype=object), m, p=[0.93, 0.05, 0.02])),
            cantidad_hijos=ints(st["children"][stu]),
            cantidad_familia=ints(rng.integers(1, 7, m)),
            turno_preferido=ints(rng.integers(1, 4, m)),
            cobertura_salud=ints(np.where(st["no_coverage"][stu], 5, rng.integers(1, 5, m))),
            tipo_vivienda=ints(rng.choice([1, 2, 3, 4, 5], m, p=[0.55, 0.3, 0.08, 0.04, 0.03])),
            vive_con=ints(np.where(st["lives_alone"][stu], 1, rng.choice([2, 3, 4, 5], m, p=[0.15, 0.65, 0.15, 0.05]))),
            es_celiaco=yn(rng.random(m) < 0.01),
            procedencia_calle=texts(const("Calle San Martín", m)),
            procedencia_numero=texts(rng.integers(1, 3000, m).astype(str).astype(object)),
            procedencia_departamento=texts(np.where(rng.random(m) < 0.2, "B", None), null=rng.random(m) >= 0.2),
            procedencia_localidad=ints(proc_loc),
            procedencia_barrio=texts(const("Centro", m)),
            procedencia_codigo_postal=texts(const("5500", m)),
            periodo_lectivo_calle=texts(const("Av. Colón", m)),
            periodo_lectivo_numero=texts(rng.integers(1, 3000, m).astype(str).astype(object)),
            periodo_lectivo_localidad=ints(np.where(rng.random(m) < 0.7, 1001, proc_loc)),
            periodo_lectivo_codigo_postal=texts(const("5500", m)),
        )
        beca = st["beca"][stu]
        self.out["mdp_datos_economicos"] = table(
            dato_censal=ints(ids),
            trabajo_existe=ints(np.where(works, 1, 2)),
            trabajo_hace=ints(rng.integers(1, 5, m), null=~works),
            trabajo_carrera=ints(rng.integers(1, 4, m), null=~works),
            trabajo_hora_sem=ints(hours, null=~works),
            beca=yn(beca),
            beca_fuente_universidad=yn(beca & (rng.random(m) < 0.5)),
            beca_fuente_nacional=yn(beca & (rng.random(m) < 0.5)),
            beca_tipo_economica=yn(beca),
            costeo_estudios_familiar=yn(~works | (rng.random(m) < 0.3)),
            costeo_estudios_plan_social=yn(rng.random(m) < 0.05),
            costeo_estudios_trabajo=yn(works),
            costeo_estudios_beca=yn(beca),
            costeo_estudios_otro=yn(rng.random(m) < 0.02),
        )
        self.out["mdp_datos_actividades"] = table(
            dato_censal=ints(ids),
            tecnologia_pc_casa=yn(~st["no_pc"][stu]),
            tecnologia_int_casa=yn(~st["no_pc"][stu] | (rng.random(m) < 0.5)),
            tecnologia_int_movil=yn(rng.random(m) < 0.9),
            deportes=yn(rng.random(m) < 0.35),
            nivel_idioma_ingles=ints(rng.integers(1, 5, m)),
        )
        disc = rng.random(m) < 0.04
        self.out["mdp_datos_discapacidad"] = table(
            dato_censal=ints(ids),
            disc_auditiva=yn(disc & (rng.random(m) < 0.3)),
            disc_visual=yn(disc & (rng.random(m) < 0.4)),
            disc_motora=yn(disc & (rng.random(m) < 0.3)),
            disc_otra=yn(np.zeros(m, bool)),
        )
        if in_place is not None:
            self._update_census(stu, is_second, resurvey_day)
        # Previous studies: secondary school for everyone, a prior degree for a few.
        prior = self.rng.random(n) < 0.03
        p_stu = np.r_[np.arange(n), np.flatnonzero(prior)]
        level = np.r_[np.full(n, 3), np.full(int(prior.sum()), 5)]
        k = p_stu.size
        colegio = self.rng.integers(1, len(catalogs.COLEGIOS) + 1, k)
        grad_day = np.array([day_number(dt.date(int(y) - 1, 12, 10)) for y in st["cohort"][p_stu]])
        self.out["mdp_datos_estudios"] = table(
            dato_estudio=ints(np.arange(k) + 1),
            persona=ints(self.persona[p_stu]),
            nivel_estudio=ints(level),
            institucion=ints(np.full(k, 1), null=level != 5),
            colegio=ints(colegio, null=level == 5),
            fecha_egreso=dates(grad_day - np.where(level == 5, 400, 0)),
        )
        if self.shapes.second_careers:
            # A second career's person already has these rows from the first one.
            second_career = st["first_career"][p_stu] >= 0
            self.out["mdp_datos_estudios"] = self.out["mdp_datos_estudios"].filter(pa.array(~second_career))

    def _update_census(self, stu: np.ndarray, is_second: np.ndarray, update_day: np.ndarray) -> None:
        """A student who starts working updates the entry census in place years later: same dato_censal,
        new answers and fecha_actualizacion; the old answers survive only in the ground truth."""
        rows = np.flatnonzero(
            ~is_second & self.st["census_in_place"][stu] & (update_day[stu] > 0) & (update_day[stu] <= self.until)
        )
        k = rows.size
        day = update_day[stu[rows]]
        censales, econ = self.out["mdp_datos_censales"], self.out["mdp_datos_economicos"]
        new = {
            "trabajo_existe": np.ones(k, dtype=np.int64),
            "trabajo_hace": self._rng("census_updates").integers(1, 5, k),
            "trabajo_carrera": self._rng("census_updates").integers(1, 4, k),
            "trabajo_hora_sem": self._rng("census_updates").integers(3, 6, k),
        }
        updated = econ
        for name, values in new.items():
            updated = guarani_shapes.set_rows(updated, name, rows, pa.array(values, pa.int64()))
        updated = guarani_shapes.set_rows(updated, "costeo_estudios_trabajo", rows, pa.array(["S"] * k, pa.string()))
        self.out["mdp_datos_economicos"] = updated
        self.out["mdp_datos_censales"] = guarani_shapes.set_rows(censales, "fecha_actualizacion", rows, dates(day))
        self.known["census_update"] = {"rows": rows, "day": day, "censales": censales, "economicos": econ}
        self.truth["census_truth"] = guarani_shapes.census_truth(censales, econ, updated, rows, day)

    # -- courses, exams, history -----------------------------------------------------------------------
    def _cursadas(self) -> None:
        c, cfg, rng = self.w.cursadas, self.cfg, self.rng
        st = self.st
        elemento = st["propuesta"][c["stu"]] * SUBJECTS_PER_PLAN + c["subj"] + 1
        key = (c["sem"].astype(np.int64) * 100000 + elemento) * 10 + c["site"]
        group = rank_within(key) // 90
        ckey = key * 100 + group
        uniq, comision = dense_ids(ckey)
        self.comision_of = comision
        u_sem = uniq // 100 // 10 // 100000
        u_el = (uniq // 100 // 10) % 100000
        u_site = (uniq // 100) % 10
        u_group = uniq % 100
        nc = uniq.size
        lectivo = u_sem + 1
        if self.shapes.annual_courses:
            lectivo = guarani_shapes.annual_lectivos(cfg, u_sem, u_el, lectivo)
        self.out["sga_comisiones"] = table(
            comision=ints(np.arange(nc) + 1),
            nombre=texts(
                np.char.add("Comisión ", np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[u_group % 26]).astype(object)
            ),
            periodo_lectivo=ints(lectivo),
            elemento=ints(u_el),
            ubicacion=ints(u_site + 1),
            turno=ints(u_group % 3 + 1),
            cupo=ints(np.full(nc, 90)),
            inscripcion_habilitada=texts(const("S", nc)),
            estado=texts(const("A", nc)),
        )
        self.out["sga_evaluaciones"] = table(
            evaluacion=ints(np.arange(nc) + 1), entidad=ints(np.arange(nc) + 1), evaluacion_tipo=ints(np.ones(nc))
        )
        m = comision.size
        order = np.lexsort((c["stu"], c["inscr_time"]))
        self.cursada_order = order
        alumno = self.alumno[c["stu"]]
        pv = self.plan_version[c["stu"]]
        # Cancelled (baja) once its day has come; Guaraní keeps no date of the change.
        baja_day = c.get("baja_day", np.full(m, -1))
        baja = (baja_day >= 0) & (baja_day <= self.until)
        self.known["sga_insc_cursada_baja"] = np.where(baja, baja_day, -1)[order]
        self.out["sga_insc_cursada"] = table(
            inscripcion=ints(np.arange(m) + 1),
            alumno=ints(alumno[order]),
            comision=ints(comision[order]),
            plan_version=ints(pv[order]),
            tipo=texts(const("I", m)),
            estado=texts(np.where(baja, "B", "A").astype(object)[order]),
            fecha_inscripcion=self._instant(("sga_insc_cursada", "fecha_inscripcion"), c["inscr_time"][order]),
            fuera_de_termino=texts(np.where(rng.random(m) < 0.03, "S", "N").astype(object)),
            nro_transaccion=ints(np.arange(m) + 1_000_000),
        )
        has_result = c["result"] != ""
        fecha = shapes.cursada_end_days(self.w)
        r = np.flatnonzero(has_result)
        res = c["result"][r]
        # The regularity or promotion acta of the comisión records the result (recorded day: its closing).
        acta_key = comision[r] * 2 + (res == "P")
        recorded = fecha[r]
        if self.shapes.late_actas:
            recorded = recorded + guarani_shapes.acta_lags(acta_key, self._rng("late_actas"))
            known = recorded <= self.until
            r, res, acta_key, recorded = r[known], res[known], acta_key[known], recorded[known]
        self.known["sga_eval_detalle_cursadas"] = recorded
        self.out["sga_eval_detalle_cursadas"] = table(
            evaluacion=ints(comision[r]),
            alumno=ints(alumno[r]),
            plan_version=ints(pv[r]),
            nota_cursada=grade_text(c["grade"][r]),
            resultado_cursada=texts(np.where(res == "P", "A", res).astype(object)),
            fecha_regular=dates(fecha[r]),
            ultimo_cambio=stamps(recorded.astype(np.int64) * 86400 + 18 * 3600),
        )
        if self.shapes.any:
            self.truth["cursada_truth"] = guarani_shapes.cursada_truth(c, order, alumno, fecha, r, recorded, self.until)
        # Accumulated attendance only where classes ended or are under way.
        total = np.where(c["annual"], ANNUAL_CLASSES, CLASSES_PER_CURSADA) if "annual" in c else CLASSES_PER_CURSADA
        present = np.rint(c["att"] * total).astype(int)
        # A snapshot before an annual course was left counts the attendance until then (snapshot.py).
        self.known["sga_clases_asistencia_acum_quit"] = c.get("classes_before_quit", np.full(present.size, -1))
        self.out["sga_clases_asistencia_acum"] = table(
            comision=ints(comision),
            alumno=ints(alumno),
            total_asistencias=ints(present),
            total_inasistencias=ints(total - present),
            porc_asistencia=floats(np.round(100.0 * present / total, 2)),
            libre=texts(np.where(present < 0.6 * total, "S", "N").astype(object)),
            tramo_quedo_libre=ints(np.ones(alumno.size), null=present >= 0.6 * total),
        )
        # Actas: a regularity acta per comisión, a promotion acta where someone was promoted.
        self._actas_cursada(comision[r], alumno[r], pv[r], res, c["grade"][r], fecha[r], recorded)

    def _actas_cursada(self, comision, alumno, pv, res, grade, fecha, recorded) -> None:
        promo = res == "P"
        acta_key = comision * 2 + promo
        uniq, acta = dense_ids(acta_key)
        self.acta_rows = []
        self.next_acta = uniq.size + 1
        origen = np.where(uniq % 2 == 1, "P", "R")
        self.acta_tables = [
            table(
                id_acta=ints(np.arange(uniq.size) + 1),
                nro_acta=texts(
                    np.char.add(origen, np.char.zfill((np.arange(uniq.size) + 1).astype(str), 6)).astype(object)
                ),
                tipo_acta=texts(const("N", uniq.size)),
                origen=texts(origen.astype(object)),
                comision=ints(uniq // 2),
                llamado_mesa=ints(np.zeros(uniq.size), null=np.ones(uniq.size, bool)),
                estado=texts(const("C", uniq.size)),
                fecha_generacion=self._acta_recorded(acta, recorded, uniq.size, 18),
                renglones_folio=ints(np.full(uniq.size, 25)),
            )
        ]
        rank = rank_within(acta)
        instancia = np.where(promo, 2, 1)
        self.known["sga_actas_detalle"] = [recorded]
        n_actas = uniq.size
        self.acta_facts = [
            (
                np.arange(n_actas) + 1,
                origen,
                guarani_shapes.per_acta(acta, fecha, n_actas),
                guarani_shapes.per_acta(acta, recorded, n_actas),
            )
        ]
        # Where the deployment keeps an instant, the result is dated 21:00 local on the last day of classes.
        fecha_value = self._day_or_instant(("sga_actas_detalle", "fecha"), fecha, fecha * 86400 + 24 * 3600)
        self.detalle_tables = [
            table(
                id_acta=ints(acta),
                alumno=ints(alumno),
                folio=ints(rank // 25 + 1),
                renglon=ints(rank % 25 + 1),
                plan_version=ints(pv),
                instancia=ints(instancia),
                fecha=fecha_value,
                nota=grade_text(grade),
                resultado=texts(res.astype(object)),
                escala_nota=ints(np.ones(alumno.size)),
                cond_regularidad=ints(np.ones(alumno.size), null=promo),
                estado=texts(const("A", alumno.size)),
                rectificado=texts(const("N", alumno.size)),
            )
        ]

    def _exams(self) -> None:
        e, rng = self.w.exams, self.rng
        st = self.st
        elemento = st["propuesta"][e["stu"]] * SUBJECTS_PER_PLAN + e["subj"] + 1
        mesa_key = elemento * 10 + e["site"]
        mesa_uniq, mesa = dense_ids(mesa_key)
        self.out["sga_mesas_examen"] = table(
            mesa_examen=ints(np.arange(mesa_uniq.size) + 1),
            nombre=texts(np.char.add("Mesa ", (mesa_uniq // 10).astype(str)).astype(object)),
            elemento=ints(mesa_uniq // 10),
            ubicacion=ints(mesa_uniq % 10 + 1),
            mesa_en_turno_examen=texts(const("S", mesa_uniq.size)),
        )
        turn_key = e["sem"] * 2 + e["turn"]
        turn_uniq, llamado = dense_ids(turn_key)
        turno = np.array([TURN_CODES[(int(k // 2) % 2, int(k % 2))] for k in turn_uniq])
        self.out["sga_llamados_turno"] = table(llamado=ints(np.arange(turn_uniq.size) + 1), turno_examen=ints(turno))
        lm_key = mesa.astype(np.int64) * 1000 + llamado
        lm_uniq, llamado_mesa = dense_ids(lm_key)
        first_row = np.unique(llamado_mesa, return_index=True)[1]
        lm_day = e["day"][first_row]
        lm_minute = e["start_minute"][first_row]
        hora = pa.array(lm_minute.astype(np.int64) * 60_000_000, pa.int64()).cast(pa.time64("us"))
        fecha = self._day_or_instant(
            ("sga_llamados_mesa", "fecha"),
            lm_day,
            lm_day.astype(np.int64) * 86400 + 3 * 3600 + lm_minute.astype(np.int64) * 60,
        )
        self.out["sga_llamados_mesa"] = table(
            llamado_mesa=ints(np.arange(lm_uniq.size) + 1),
            mesa_examen=ints(lm_uniq // 1000),
            llamado=ints(lm_uniq % 1000),
            fecha=fecha,
            hora_inicio=hora,
            estado=texts(const("A", lm_uniq.size)),
        )
        m = llamado_mesa.size
        alumno = self.alumno[e["stu"]]
        pv = self.plan_version[e["stu"]]
        order = np.lexsort((e["stu"], e["inscr_time"]))
        self.out["sga_insc_examen"] = table(
            inscripcion=ints(np.arange(m) + 1),
            alumno=ints(alumno[order]),
            llamado_mesa=ints(llamado_mesa[order]),
            plan_version=ints(pv[order]),
            instancia=ints(np.full(m, 3)),
            estado=texts(const("A", m)),
            fecha_inscripcion=stamps(e["inscr_time"][order]),
        )
        r = np.flatnonzero(e["result"] != "")
        recorded = e["day"][r]
        if self.shapes.late_actas:
            recorded = recorded + guarani_shapes.acta_lags(llamado_mesa[r], self._rng("late_actas"))
            r, recorded = r[recorded <= self.until], recorded[recorded <= self.until]
        acta_uniq, acta_local = dense_ids(llamado_mesa[r])
        na = acta_uniq.size
        acta = acta_local + self.next_acta - 1
        ids = np.arange(na) + self.next_acta
        self.acta_tables.append(
            table(
                id_acta=ints(ids),
                nro_acta=texts(np.char.add("E", np.char.zfill(ids.astype(str), 6)).astype(object)),
                tipo_acta=texts(const("N", na)),
                origen=texts(const("E", na)),
                comision=ints(np.zeros(na), null=np.ones(na, bool)),
                llamado_mesa=ints(acta_uniq),
                estado=texts(const("C", na)),
                fecha_generacion=(
                    self._acta_recorded(acta_local, recorded, na, 23)
                    if self.shapes.late_actas
                    else stamps(lm_day[acta_uniq - 1].astype(np.int64) * 86400 + 23 * 3600)
                ),
                renglones_folio=ints(np.full(na, 25)),
            )
        )
        rank = rank_within(acta)
        self.acta_facts.append(
            (ids, np.full(na, "E"), lm_day[acta_uniq - 1], guarani_shapes.per_acta(acta_local, recorded, na))
        )
        res = e["result"][r]
        grade = e["grade"][r]
        absent_text = (res == "U") & (rng.random(r.size) < 0.7)
        nota = np.where(absent_text, "Ausente", grade_strings(grade))
        self.detalle_tables.append(
            table(
                id_acta=ints(acta),
                alumno=ints(alumno[r]),
                folio=ints(rank // 25 + 1),
                renglon=ints(rank % 25 + 1),
                plan_version=ints(pv[r]),
                instancia=ints(np.full(r.size, 3)),
                fecha=self._day_or_instant(
                    ("sga_actas_detalle", "fecha"),
                    e["day"][r],
                    e["day"][r].astype(np.int64) * 86400 + 3 * 3600 + e["start_minute"][r].astype(np.int64) * 60,
                ),
                nota=texts(nota, null=np.array([v is None for v in nota])),
                resultado=texts(res.astype(object)),
                escala_nota=ints(np.ones(r.size)),
                cond_regularidad=ints(np.ones(r.size), null=np.ones(r.size, bool)),
                estado=texts(const("A", r.size)),
                rectificado=texts(const("N", r.size)),
            )
        )
        self.known["sga_actas_detalle"] = np.concatenate([*self.known["sga_actas_detalle"], recorded])
        self.out["sga_actas"] = pa.concat_tables(self.acta_tables)
        self.out["sga_actas_detalle"] = pa.concat_tables(self.detalle_tables)
        if self.shapes.any:
            self.truth["acta_truth"] = guarani_shapes.acta_truth(self.acta_facts)

    def _history(self) -> None:
        w = self.w
        r = w.reinscriptions
        order = np.lexsort((r["stu"], r["time"]))
        m = order.size
        self.out["sga_reinscripciones"] = table(
            reinscripcion=ints(np.arange(m) + 1),
            alumno=ints(self.alumno[r["stu"][order]]),
            anio_academico=ints(r["anio"][order]),
            fecha_reinscripcion=stamps(r["time"][order]),
            nro_transaccion=ints(np.arange(m) + 2_000_000),
        )
        p = w.perdidas
        order = np.lexsort((p["stu"], p["day"]))
        m = order.size
        nro = rank_within(p["stu"][order]) + 1
        self.out["sga_perdida_regularidad"] = table(
            perdida_regularidad=ints(np.arange(m) + 1),
            alumno=ints(self.alumno[p["stu"][order]]),
            anio_academico=ints(p["anio"][order]),
            nro_perdida_regularidad=ints(nro),
            fecha=dates(p["day"][order]),
            fecha_control_desde=dates(p["desde"][order]),
            fecha_control_hasta=dates(p["hasta"][order]),
        )
        s = w.status
        order = np.lexsort((s["time"], s["stu"]))
        # The primary key is (alumno, fecha): nudge exact repeats by a second.
        t = s["time"][order] + rank_within(s["stu"][order] * 10**10 + s["time"][order])
        self.out["sga_alumnos_hist_calidad"] = table(
            alumno=ints(self.alumno[s["stu"][order]]),
            fecha=stamps(t),
            calidad=texts(s["calidad"][order].astype(object)),
            motivo_calidad=ints(s["motivo"][order]),
        )

    def _graduates(self) -> None:
        st = self.st
        grad = np.flatnonzero(st["graduation_day"] > 0)
        m = grad.size
        self.out["sga_certificados"] = from_rows(
            ["certificado", "nombre", "codigo"],
            [(i + 1, f"Título de {nm}", code) for i, (nm, _, code) in enumerate(self.fac["propuestas"])],
        )
        self.out["sga_certificados_otorg"] = table(
            certificado_otorg=ints(np.arange(m) + 1),
            certificado=ints(st["propuesta"][grad] + 1),
            alumno=ints(self.alumno[grad]),
            persona=ints(self.persona[grad]),
            plan_version=ints(self.plan_version[grad]),
            nro_solicitud=ints(np.arange(m) + 9000),
            fecha_egreso=dates(st["graduation_day"][grad]),
            promedio=floats(np.round(self.rng.uniform(6.0, 9.5, m), 2)),
            promedio_sin_aplazos=floats(np.round(self.rng.uniform(6.5, 9.8, m), 2)),
            anulado=ints(np.zeros(m)),
        )
        self.known["sga_certificados_otorg"] = shapes.certificate_days(self.w)[grad]
        if self.shapes.late_certificates:
            # Every student who passed the last exam by `until`, with or without a certificate yet.
            last = np.flatnonzero((st["last_exam_day"] >= 0) & (st["last_exam_day"] <= self.until))
            cert = st["certificate_day"][last]
            issued = cert <= self.until
            self.truth["graduation_truth"] = table(
                alumno=ints(self.alumno[last]),
                fecha_ultimo_examen=dates(st["last_exam_day"][last]),
                fecha_certificado=dates(np.where(issued, cert, 0), null=~issued),
            )

    def _rng(self, shape: str) -> np.random.Generator:
        """The shape's own stream for the rows of this source (see shapes.stream)."""
        if shape not in self._streams:
            self._streams[shape] = shapes.stream(self.cfg, self.w.index, shape, stage=1)
        return self._streams[shape]

    # -- column types of the variant deployment -----------------------------------------------------------
    def _day_or_instant(self, column: tuple[str, str], days: np.ndarray, seconds: np.ndarray) -> pa.Array:
        """A DATE column, or the instant `seconds` where this deployment holds the column as TIMESTAMPTZ."""
        kind = self.variants.get(column)
        if kind == "timestamptz":
            return stamps(seconds)
        if kind == "timestamp":
            return local_stamps(seconds)
        return dates(days)

    def _instant(self, column: tuple[str, str], seconds: np.ndarray) -> pa.Array:
        """A TIMESTAMPTZ column, or the local wall-clock time where this deployment has no time zone."""
        return local_stamps(seconds) if self.variants.get(column) == "timestamp" else stamps(seconds)

    def _acta_recorded(self, acta: np.ndarray, recorded: np.ndarray, n_actas: int, utc_hour: int) -> pa.Array:
        """sga_actas.fecha_generacion: the day the acta was closed (NULL for cursada actas without the shape)."""
        if not self.shapes.late_actas:
            return stamps(np.zeros(n_actas), null=np.ones(n_actas, bool))
        return stamps(guarani_shapes.per_acta(acta, recorded, n_actas) * 86400 + utc_hour * 3600)


def _loc_weights(k: int) -> np.ndarray:
    w = np.r_[np.full(6, 6.0), np.ones(k - 6)]
    return w / w.sum()


def _ascii(values: np.ndarray) -> np.ndarray:
    table_ = str.maketrans("áéíóúÁÉÍÓÚñÑü", "aeiouAEIOUnNu")
    return np.array([str(v).translate(table_) for v in values])
