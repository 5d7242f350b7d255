"""The dashboard's Spanish user-interface text, in one place."""

from __future__ import annotations

from dwh.dashboard.reglas import UMBRAL_GRUPO_PEQUENO

TITULO = "Abandono y retención estudiantil"
SUBTITULO = "SIU Guaraní + Moodle · datos publicados (solo lectura)"
DATOS_AL = "Datos al {fecha}"
DATOS_SIN_FECHA = "Fecha de los datos desconocida"

# Tab value -> label; the order is the tabs' order.
PESTANAS: dict[str, str] = {
    "resumen": "Resumen ejecutivo",
    "cohortes": "Cohortes",
    "comparacion": "Carreras y sedes",
    "riesgo": "Riesgo",
    "rendimiento": "Rendimiento académico",
    "estado": "Estado de los datos",
}
PESTANA_SEGUIMIENTO = "Mis estudiantes"
SALIR = "Salir"

FILTROS_TITULO = "Filtros"
FILTRO_COHORTE = "Cohorte (año de ingreso)"
FILTRO_PROPUESTA = "Carrera / propuesta"
FILTRO_SEDE = "Sede"
FILTRO_ANIO = "Año académico"
TODAS = "Todas"
ANIO_POR_DEFECTO = "Último año completo ({anio})"
ANIO_EN_CURSO = "{anio} (en curso, parcial)"
AYUDA_ANIO = "Por defecto, el último año académico completo: el año en curso todavía es parcial."
# Filters' names as queries.FILTROS_APLICADOS spells them.
NOMBRES_FILTROS: dict[str, str] = {
    "cohortes": "cohorte",
    "propuestas": "carrera",
    "sedes": "sede",
    "anio": "año académico",
}
FILTROS_APLICADOS = "Filtros que se aplican: {filtros}."
# Per view of the query layer, what its filters mean beyond which apply (queries.FILTROS_APLICADOS).
NOTAS_FILTROS: dict[str, str] = {
    "resumen": "La retención es por cohorte de ingreso y no depende del año elegido; "
    "activos, abandono y riesgo se refieren al año elegido.",
    "retencion_por_cohorte": "Por cohorte de ingreso: el año elegido no se aplica.",
    "comparacion": "Por cohorte de ingreso: el año elegido no se aplica.",
    "riesgo": "Con el modelo, el riesgo es el de la última predicción de cada estudiante (el año elegido no se "
    "aplica); con la heurística, el del año elegido.",
    "distribucion_riesgo": "Igual que el listado de riesgo.",
    "rendimiento_por_semestre": "Serie de todos los cuatrimestres cerrados: el año elegido no se aplica.",
    "estado_datos": "Sin filtros: estado de todo el warehouse.",
}
NINGUN_FILTRO = "Esta vista no usa filtros."

SIN_DATOS = "Sin datos para los filtros elegidos"
SIN_PUBLICADO_TITULO = "Todavía no hay datos publicados"
SIN_PUBLICADO = (
    "No se encontró el warehouse publicado en {ruta}. Ejecute `python -m dwh.main` para construirlo y "
    "publicarlo; después recargue esta página."
)
ERROR_CONSULTA = "No se pudieron leer los datos publicados. El detalle quedó en el registro del servidor."

DESCARGAR_CSV = "Descargar CSV"
GRUPO_PEQUENO = f"* grupo pequeño (< {UMBRAL_GRUPO_PEQUENO}): se muestra, pero sus tasas varían mucho."
MARCA_GRUPO_PEQUENO = " *"
N_ESTUDIANTES = "n = {n}"

# Executive summary.
KPI_ACTIVOS = "Estudiantes activos"
KPI_ACTIVOS_DETALLE = "con actividad académica en {anio}"
KPI_RETENCION_1 = "Retención a 1 año"
KPI_RETENCION_2 = "Retención a 2 años"
KPI_RETENCION_DETALLE = "{retenidos} de {n} ingresantes de cohortes con seguimiento completo"
KPI_RETENCION_SIN = "ninguna cohorte con seguimiento completo"
KPI_ABANDONO = "Tasa de abandono"
KPI_ABANDONO_DETALLE = "{abandonos} de {n} activos en {anio} no siguieron en {siguiente}"
KPI_ABANDONO_INCOMPLETO = "el año {siguiente} no terminó: todavía no se sabe"
KPI_RIESGO = "Estudiantes en riesgo alto"
KPI_RIESGO_DETALLE = "{medio} más en riesgo medio · {fuente}"

# Risk.
FUENTE_MODELO = "Probabilidad estimada por el modelo predictivo (ml.predicciones)"
FUENTE_HEURISTICA = "Puntaje heurístico (no es un modelo)"
EXPLICA_MODELO = "Probabilidad de abandono de la última predicción de cada estudiante: alto ≥ {alto}, medio ≥ {medio}."
EXPLICA_HEURISTICA = (
    "Regla fija de 0 a 11 puntos (aprobación < 50 %, asistencia < 60 %, sin reinscripción, cambios de estado), "
    "no una probabilidad: alto ≥ {alto}, medio ≥ {medio}. Año {anio}."
)
DISTRIBUCION_RIESGO = "Estudiantes por nivel de riesgo"
LISTADO_RIESGO = "Estudiantes en riesgo (clave seudónima)"
LISTADO_LIMITE = "Se muestran los {n} de mayor puntaje; el CSV trae el listado completo."
PUNTAJE_MODELO = "Probabilidad (modelo)"
PUNTAJE_HEURISTICO = "Puntaje heurístico (0-11)"
NIVELES = {"alto": "Alto", "medio": "Medio", "bajo": "Bajo"}
COLUMNAS_RIESGO = {
    "alumno_key": "Clave seudónima",
    "cohorte": "Cohorte",
    "propuesta": "Carrera",
    "sede": "Sede",
    "puntaje": "Puntaje",
    "nivel": "Nivel",
    "anio_academico": "Año",
}
COLUMNA_RAZONES = {"razones": "Razones del modelo (peso: + sube el riesgo)"}
FICHA_MODELO = "Ficha del modelo (corrida {run_id}): qué predice, con qué datos, qué tan bien y sus límites"

# Cohorts.
RETENCION_COHORTES = "Retención por cohorte de ingreso"
RETENCION_1 = "a 1 año"
RETENCION_2 = "a 2 años"
SEGUIMIENTO_INCOMPLETO = "seguimiento incompleto"
NOTA_INCOMPLETO = "Las cohortes sin seguimiento completo no tienen tasa todavía (no es 0 % ni 100 %)."
COLUMNAS_COHORTES = {
    "cohorte": "Cohorte",
    "estudiantes": "Ingresantes",
    "retencion_1": "Retención a 1 año",
    "retencion_2": "Retención a 2 años",
    "egresados": "Egresados",
}

# Programs and sites.
COMPARACION_PROPUESTA = "Por carrera"
COMPARACION_SEDE = "Por sede"
RETENCION_1_ANIO = "Retención a 1 año"
TASA_APROBACION = "Aprobación (aprobados ÷ rendidos)"
COLUMNAS_COMPARACION = {
    "grupo": "Grupo",
    "estudiantes": "Ingresantes",
    "retencion": "Retención a 1 año",
    "aprobacion": "Aprobación",
}

# Performance per semester.
APROBACION_AUSENTISMO = "Aprobación y ausentismo en exámenes"
APROBACION = "Aprobación"
AUSENTISMO = "Ausentismo"
NOTAS = "Promedio de notas (0-10)"
ASISTENCIA = "Asistencia promedio (Guaraní, %)"
MOODLE = "Eventos de Moodle por estudiante"
CUATRIMESTRE = "Cuatrimestre"
PORCENTAJE = "%"

# Data status.
CAPAS = "Última construcción de cada capa"
EJECUCIONES = "Últimas ejecuciones"
FRESCURA = "Frescura por fuente (evento más reciente en bronze)"
PRUEBAS = "Pruebas de datos de la última construcción"
PRUEBAS_RESUMEN = "{total} pruebas: {fallas} fallas, {avisos} avisos."
COLUMNAS_ESTADO = {
    "usuario": "Usuario",
    "rol": "Rol",
    "propuestas": "Propuestas",
    "sedes": "Sedes",
    "layer": "Capa",
    "as_of": "Fecha de corte",
    "started_at": "Inicio",
    "seconds": "Segundos",
    "status": "Estado",
    "message": "Mensaje",
    "run_id": "Ejecución",
    "error": "Error",
    "source_db": "Fuente",
    "newest": "Dato más reciente",
    "antiguedad_dias": "Antigüedad (días)",
    "table_name": "Tabla",
    "test": "Prueba",
    "severity": "Severidad",
    "failing": "Filas con falla",
    "checked_at": "Verificada",
}

CURVAS_RETENCION = "Curvas de retención: % que sigue activo (o ya egresó) por semestres desde el ingreso"
SEMESTRES_DESDE_INGRESO = "Semestres desde el ingreso"

# --- the tutor's view ----------------------------------------------------------------------------------------
SOLO_TUTORES = "Solo los tutores ven estudiantes identificados."
SIN_CONTACTO = "(sin carrera vigente: sin datos de contacto)"
HEURISTICA_CORTA = "heurístico, no es un modelo"
EXPLICA_HEURISTICA_CORTA = (
    "todavía no corrió ningún modelo: el orden sale de una regla fija de 0 a 11 puntos, no de una probabilidad"
)
HORIZONTE = "probabilidad calibrada de abandonar o perder la regularidad en los próximos {n} cuatrimestres"
SEGUIMIENTO_AYUDA = (
    "Los {n} estudiantes de mayor riesgo de sus carreras y sedes. Elija una fila para ver su historial y "
    "registrar un contacto. Cada consulta queda registrada."
)
CAPACIDAD = "¿A cuántos estudiantes puede contactar?"
HISTORIAL_CONTACTOS = "Contactos registrados"
SIN_CONTACTOS = "Todavía no hay contactos registrados."
REGISTRAR_CONTACTO = "Registrar un contacto"
ELIJA_ESTUDIANTE = "Elija un estudiante de la lista."
CONTACTO_CON = "Estudiante elegido ({clave}…)"
FECHA_CONTACTO = "Fecha del contacto"
CANAL = "Canal"
RESULTADO = "Resultado"
SEGUIMIENTO_FECHA = "Próximo seguimiento (opcional)"
NOTA = "Nota"
GUARDAR_CONTACTO = "Guardar contacto"
CONTACTO_GUARDADO = "Contacto guardado."
CANALES = {
    "telefono": "Teléfono",
    "email": "Correo",
    "presencial": "Presencial",
    "mensajeria": "Mensajería",
    "otro": "Otro",
}
RESULTADOS = {
    "contactado": "Contactado",
    "no_responde": "No responde",
    "derivado": "Derivado",
    "otro": "Otro",
}
USUARIOS = "Usuarios del tablero (declarados en DASHBOARD_USERS)"
