"""MODEL_CARD.md: what a run predicts, from which data, how well (with intervals), for whom, and its limits."""

from __future__ import annotations

from dwh.ml import strata

FILE = "MODEL_CARD.md"
STRATA_TEXT = {
    "todas": "todas las filas de prueba",
    strata.YA_AUSENTE: "sin actividad académica en el cuatrimestre (la decisión ya es visible)",
    strata.NO_INSCRIPTO: "activos, con la inscripción al cuatrimestre siguiente abierta y sin inscribirse",
    strata.PRONOSTICO: "el resto de los activos: lo que queda por pronosticar (cifra principal)",
    strata.COMPROMETIDO: "parte de pronostico: asistencia ≥ 60 % y una cursada en curso o aprobada",
}
MODEL_TEXT = {
    "arbol": "LightGBM (árbol de gradiente)",
    "tft": "Temporal Fusion Transformer",
    "reglas": "reglas (ausente o no inscripto)",
    "oraculo": "oráculo sintético",
}


def _fig(f: dict | None, digits: int = 3) -> str:
    if not f or f.get("valor") is None:
        return "—"
    ci = f.get("ic95")
    text = f"{f['valor']:.{digits}f}"
    return f"{text} [{ci[0]:.{digits}f}–{ci[1]:.{digits}f}]" if ci else text


def _semester(params: dict, key: str) -> str:
    return params.get("nombres_semestres", {}).get(key, key) if key != "todos" else "todos"


def _strata_table(params: dict, metrics: dict) -> list[str]:
    lines = [
        "| semestre | estrato | modelo | n | % positivos | AUC [IC 95 %] | ECE | recall top 10 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, section in metrics["semestres"].items():
        for name, by_model in section["estratos"].items():
            for model, s in by_model.items():
                if not s.get("n"):
                    continue
                if "auc" not in s:
                    lines.append(
                        f"| {_semester(params, key)} | {name} | {model} | {s.get('n', 0):,} | "
                        f"{100 * s.get('tasa_positivos', 0):.1f} | {s.get('nota', '—')} | | |"
                    )
                    continue
                lines.append(
                    f"| {_semester(params, key)} | {name} | {model} | {s['n']:,} | {100 * s['tasa_positivos']:.1f} | "
                    f"{_fig(s['auc'])} | {_fig(s.get('ece'))} | {_fig(s.get('recall_top10'))} |"
                )
    return lines


def _parts_table(params: dict, metrics: dict) -> list[str]:
    lines = ["| semestre | parte | estrato | modelo | positivos | AUC [IC 95 %] |", "|---|---|---|---|---|---|"]
    section = metrics["semestres"]["todos"]["partes"]
    for part, by_stratum in section.items():
        for name, by_model in by_stratum.items():
            for model, s in by_model.items():
                auc = _fig(s.get("auc")) if "auc" in s else s.get("nota", "—")
                lines.append(f"| todos | {part} | {name} | {model} | {s.get('positivos', 0):,} | {auc} |")
    return lines


def _groups_table(metrics: dict) -> list[str]:
    groups = metrics["grupos"]
    lines = [
        f"Modelo calibrado por defecto ({groups['modelo']}), todas las filas de prueba:",
        "",
        "| grupo | valor | n | % positivos | AUC | ECE | pendiente | recall top 10 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for column, values in groups.items():
        if column == "modelo":
            continue
        for value, s in values.items():
            if "auc" not in s:
                lines.append(f"| {column} | {value} | {s['n']:,} | | {s.get('nota', '')} | | | |")
                continue
            lines.append(
                f"| {column} | {value} | {s['n']:,} | {100 * s['tasa_positivos']:.1f} | {_fig(s['auc'])} | "
                f"{_fig(s['ece'])} | {_fig(s['pendiente_calibracion'], 2)} | {_fig(s['recall_top10'])} |"
            )
    return lines


def render(params: dict, metrics: dict) -> str:
    split = params["particion"]
    names = params.get("nombres_semestres", {})

    def sem(t: int) -> str:
        return names.get(str(t), str(t))

    first, last = params.get("semestres_etiquetados", [None, None])
    default = metrics["modelo_por_defecto"]
    lines = [
        f"# Ficha del modelo — corrida {params['run_id']}",
        "",
        f"Creada {params.get('creado', '')}. Modelo por defecto: **{MODEL_TEXT.get(default, default)}** "
        f"({metrics['motivo_modelo_por_defecto']}).",
        "",
        "## Qué predice",
        f"- Para cada estudiante en riesgo y cuatrimestre t, la probabilidad de que en los "
        f"{params['horizonte_semestres']} cuatrimestres siguientes **abandone** (ninguna actividad académica: ni "
        "inscripciones, ni resultados que no sean ausencias, ni reinscripción) o **pierda la regularidad** sin "
        "reincorporarse, salvo que egrese. La etiqueta se decide en la fecha de cierre del cuatrimestre t + "
        f"{params['horizonte_semestres']} (dwh/docs/GOLD_RULES.md).",
        "- Los datos de cada fila son los que Guaraní y Moodle tenían al corte del cuatrimestre (31 de julio o 31 de "
        "diciembre). La probabilidad está calibrada (calibrador "
        f"{params.get('calibracion', 'platt')} ajustado en los cuatrimestres de selección).",
        "",
        "## Datos",
        f"- Cuatrimestres etiquetados: {sem(first)} a {sem(last)}.",
        f"- Ajuste: hasta {sem(split['fit_last'])} ({params['filas']['ajuste']:,} filas). Selección (parada temprana, "
        f"punto de control, calibración): {sem(split['select_first'])} a {sem(split['select_last'])} "
        f"({params['filas']['seleccion']:,}). Prueba (las cifras de esta ficha): {sem(split['test_first'])} a "
        f"{sem(split['test_last'])} ({params['filas']['prueba']:,}).",
        f"- Entre conjuntos, un embargo de {split['horizon']} cuatrimestres: nada que elige el modelo conoce una "
        "etiqueta que no se sabía al predecir el conjunto siguiente.",
        "",
        f"## Cifras (intervalos de 95 % por bootstrap de estudiantes, {metrics['bootstrap']['replicas']} réplicas)",
        "Estratos: " + "; ".join(f"`{k}`: {v}" for k, v in STRATA_TEXT.items()) + ".",
        "",
        *_strata_table(params, metrics),
        "",
        "Diferencias pareadas de AUC en `pronostico` (todos los semestres de prueba):",
        "",
        *[f"- {k}: {_fig(v)}" for k, v in metrics["comparaciones_pronostico"].items()],
        "",
        "### Por parte de la etiqueta",
        *_parts_table(params, metrics),
        "",
        "### Por grupo",
        *_groups_table(metrics),
        "",
    ]
    oracle = metrics.get("oraculo")
    if oracle:
        lines += [
            "### Oráculo (solo datos sintéticos)",
            f"- La probabilidad de que la etiqueta real de la fila sea 1 dado el estado del generador al corte, "
            f"estimada re-simulando el futuro al menos {oracle['replicas']} veces por fila "
            f"({oracle.get('filas_con_oracle', 0):,} filas). Un modelo que "
            "lo supera en `pronostico` más allá de su intervalo tiene una fuga: `evaluate` falla.",
            "",
        ]
    alarms = metrics.get("alarmas_fuga") or []
    if alarms:
        lines += ["## ALARMA DE FUGA", *[f"- {a}" for a in alarms], ""]
    lines += [
        "## Límites conocidos",
        "- `ya_ausente` y `no_inscripto` detectan decisiones ya tomadas; la cifra de pronóstico es `pronostico`.",
        "- En el segundo cuatrimestre no hay inscripción siguiente abierta al 31 de diciembre: quien dejó de asistir "
        "durante el cuatrimestre sigue en `pronostico` y sus ausencias lo delatan; `comprometido` lo excluye.",
        "- El censo (editado en el lugar) y las bajas de inscripción (sin fecha) no son variables del modelo.",
        "- Las razones de cada estudiante explican el puntaje del modelo, no causas: son para orientar la "
        "conversación de la tutoría, no para decidir por sí solas.",
        f"- El modelo se ajustó con cuatrimestres hasta {sem(split['fit_last'])}: los cambios posteriores en la "
        "universidad (planes, calendario) no los conoce.",
        *[f"- {w}" for w in metrics.get("advertencias", [])],
        "",
    ]
    return "\n".join(lines)
