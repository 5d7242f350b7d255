"""Fixed catalogue rows (code tables, places, programmes) of the synthetic Guaraní sources."""

from __future__ import annotations

# Codes documented in source_schemas.md §1.3; descriptions are ours where the schema gives none.
ALUMNOS_CALIDAD = [("A", "Activo"), ("P", "Pasivo")]
NACIONALIDADES = [(1, "Argentino"), (2, "Extranjero"), (3, "Naturalizado"), (4, "Por opción")]
TIPO_DOCUMENTO = [(0, "Documento Nacional de Identidad", "DNI"), (90, "Pasaporte", "PAS")]
IDENTIDAD_GENERO = [
    (1, "Mujer"),
    (2, "Varón"),
    (3, "Mujer trans"),
    (4, "Varón trans"),
    (5, "No binario"),
    (6, "Otra identidad"),
]
ESTADOS_CIVILES = [
    (1, "Soltero"),
    (2, "Casado"),
    (3, "Separado"),
    (4, "Divorciado"),
    (5, "Unión consensual"),
    (6, "Viudo"),
]
TIPO_VIVIENDA = [(1, "Casa"), (2, "Departamento"), (3, "Pensión"), (4, "Residencia universitaria"), (5, "Otro")]
TRABAJO_EXISTE = [(1, "Trabaja"), (2, "No trabaja"), (3, "Busca trabajo")]
NIVEL_ESTUDIO = [
    (1, "Primario completo"),
    (2, "Secundario incompleto"),
    (3, "Secundario completo"),
    (4, "Terciario completo"),
    (5, "Universitario de grado completo"),
]
SITUACION_ASPIRANTE = [
    (1, "Aspirante a Propuesta", "P"),
    (2, "Inscripción aceptada", "A"),
    (3, "Inscripción rechazada", "R"),
    (4, "Baja de aspirante", "B"),
    (5, "Pendiente de documentación", "N"),
]
TIPOS_INGRESO = [
    (1, "Ingreso directo"),
    (2, "Curso de nivelación"),
    (3, "Mayores de 25 años (art. 7)"),
    (4, "Pase de otra universidad"),
    (5, "Cambio de propuesta"),
    (6, "Vocacional"),
]
INSCRIPCIONES_ESTADOS = [("A", "Aceptada"), ("P", "Pendiente"), ("R", "Rechazada"), ("B", "Baja")]
ELEMENTOS_ESTADOS = [("A", "Activo"), ("B", "Baja")]
PLANES_ESTADOS = [("A", "Activo"), ("V", "Vigente"), ("N", "No vigente"), ("C", "Cerrado")]
PROPUESTAS_TIPOS = [(1, "Grado"), (2, "Pregrado"), (3, "Posgrado")]
UBICACIONES_TIPOS = [(1, "Sede"), (2, "Subsede"), (3, "Extensión áulica")]
TURNOS_CURSADAS = [(1, "Mañana"), (2, "Tarde"), (3, "Noche")]
# sga_instancias codes from source_schemas.md §1.3.
INSTANCIAS = [
    (1, "Regularidad"),
    (2, "Promoción"),
    (3, "Examen regular"),
    (4, "Examen libre"),
    (5, "Examen de reválida"),
    (10, "Equivalencia total"),
    (11, "Regularidad por equivalencia"),
    (13, "Aprobación por resolución"),
]
MOTIVOS_CALIDAD = {"ingreso": 1, "perdida": 2, "reincorporacion": 3, "egreso": 4}
CONTINENTES = [("AM", "América")]
PAISES = [
    (54, "Argentina", "AM", "AR"),
    (56, "Chile", "AM", "CL"),
    (591, "Bolivia", "AM", "BO"),
    (595, "Paraguay", "AM", "PY"),
    (598, "Uruguay", "AM", "UY"),
]
PROVINCIAS = [
    (1, "Mendoza", 54),
    (2, "San Juan", 54),
    (3, "San Luis", 54),
    (4, "Córdoba", 54),
    (5, "Buenos Aires", 54),
    (6, "Neuquén", 54),
]
# (dpto_partido, nombre, provincia)
DPTOS = [
    (101, "Capital", 1),
    (102, "Godoy Cruz", 1),
    (103, "Guaymallén", 1),
    (104, "San Rafael", 1),
    (105, "Maipú", 1),
    (201, "Capital", 2),
    (202, "Rawson", 2),
    (301, "La Capital", 3),
    (401, "Capital", 4),
    (501, "La Plata", 5),
    (601, "Confluencia", 6),
]
# (localidad, nombre, dpto_partido)
LOCALIDADES = [
    (1001, "Mendoza", 101),
    (1002, "Godoy Cruz", 102),
    (1003, "Villa Nueva", 103),
    (1004, "San Rafael", 104),
    (1005, "Maipú", 105),
    (1006, "Luján de Cuyo", 105),
    (2001, "San Juan", 201),
    (2002, "Rawson", 202),
    (3001, "San Luis", 301),
    (4001, "Córdoba", 401),
    (5001, "La Plata", 501),
    (6001, "Neuquén", 601),
]
# Per source: faculty name (Araucano institution), sites, programmes (name, short name, code).
FACULTADES = [
    {
        "institucion": "Facultad de Ciencias Económicas",
        "universidad": "Universidad Nacional del Oeste",
        "sedes": [("Sede Central", 1001, 1), ("Delegación Sur", 1004, 2), ("Extensión Áulica Este", 1005, 3)],
        "propuestas": [
            ("Contador Público", "CP", "CP"),
            ("Licenciatura en Administración", "LA", "LA"),
            ("Licenciatura en Economía", "LE", "LE"),
            ("Tecnicatura en Gestión Pública", "TGP", "TGP"),
        ],
    },
    {
        "institucion": "Facultad de Ingeniería",
        "universidad": "Universidad Nacional del Oeste",
        "sedes": [("Sede Central", 1002, 1), ("Sede San Juan", 2001, 2)],
        "propuestas": [
            ("Ingeniería Civil", "IC", "IC"),
            ("Ingeniería Industrial", "II", "II"),
            ("Ingeniería en Sistemas de Información", "ISI", "ISI"),
            ("Bioingeniería", "BIO", "BIO"),
        ],
    },
    {
        "institucion": "Facultad de Ciencias Médicas",
        "universidad": "Universidad Nacional del Oeste",
        "sedes": [("Sede Central", 1001, 1), ("Sede Neuquén", 6001, 2)],
        "propuestas": [
            ("Medicina", "MED", "MED"),
            ("Licenciatura en Enfermería", "ENF", "ENF"),
            ("Licenciatura en Nutrición", "NUT", "NUT"),
        ],
    },
]
SUBJECT_WORDS = [
    "Introducción a",
    "Fundamentos de",
    "Taller de",
    "Seminario de",
    "Práctica de",
    "Análisis de",
    "Teoría de",
    "Metodología de",
]
SUBJECT_TOPICS = [
    "Matemática",
    "Economía",
    "Contabilidad",
    "Derecho",
    "Estadística",
    "Física",
    "Química",
    "Sociología",
    "Informática",
    "Gestión",
    "Finanzas",
    "Biología",
    "Ética",
    "Inglés",
    "Historia",
    "Programación",
    "Sistemas",
    "Anatomía",
    "Fisiología",
    "Costos",
]
NOMBRES_F = [
    "María",
    "Lucía",
    "Sofía",
    "Valentina",
    "Camila",
    "Martina",
    "Julieta",
    "Florencia",
    "Agustina",
    "Micaela",
    "Carolina",
    "Paula",
    "Rocío",
    "Belén",
    "Milagros",
    "Abril",
    "Daniela",
    "Natalia",
]
NOMBRES_M = [
    "Juan",
    "Santiago",
    "Mateo",
    "Tomás",
    "Lucas",
    "Nicolás",
    "Martín",
    "Facundo",
    "Joaquín",
    "Franco",
    "Agustín",
    "Matías",
    "Federico",
    "Gonzalo",
    "Ignacio",
    "Bruno",
    "Diego",
    "Pablo",
]
APELLIDOS = [
    "González",
    "Rodríguez",
    "Gómez",
    "Fernández",
    "López",
    "Díaz",
    "Martínez",
    "Pérez",
    "García",
    "Sánchez",
    "Romero",
    "Sosa",
    "Álvarez",
    "Torres",
    "Ruiz",
    "Ramírez",
    "Flores",
    "Acosta",
    "Benítez",
    "Medina",
    "Suárez",
    "Herrera",
    "Aguirre",
    "Pereyra",
    "Gutiérrez",
    "Giménez",
    "Molina",
    "Silva",
    "Castro",
    "Rojas",
    "Ortiz",
    "Luna",
    "Juárez",
    "Cabrera",
    "Ríos",
    "Morales",
]
COLEGIOS = [
    "Escuela Normal Superior",
    "Colegio Nacional",
    "Escuela Técnica N° 4",
    "Instituto San José",
    "Liceo Agrícola",
    "Colegio del Sur",
    "Escuela de Comercio N° 2",
    "Colegio Universitario",
]
# Moodle log actions: (eventname, component, action, target, crud, contextlevel)
MOODLE_EVENTS = [
    ("\\core\\event\\course_viewed", "core", "viewed", "course", "r", 50),
    ("\\mod_resource\\event\\course_module_viewed", "mod_resource", "viewed", "course_module", "r", 70),
    ("\\mod_forum\\event\\discussion_viewed", "mod_forum", "viewed", "discussion", "r", 70),
    ("\\mod_forum\\event\\post_created", "mod_forum", "created", "post", "c", 70),
    ("\\mod_assign\\event\\submission_created", "mod_assign", "created", "submission", "c", 70),
    ("\\mod_assign\\event\\assessable_submitted", "mod_assign", "submitted", "assessable", "u", 70),
    ("\\mod_quiz\\event\\attempt_started", "mod_quiz", "started", "attempt", "c", 70),
    ("\\mod_quiz\\event\\attempt_submitted", "mod_quiz", "submitted", "attempt", "u", 70),
]
MOODLE_EVENT_WEIGHTS = [0.30, 0.25, 0.15, 0.05, 0.07, 0.06, 0.06, 0.06]
# mod_attendance default statuses (acronym, description, grade), attendanceid 0 = site defaults.
ATTENDANCE_STATUSES = [("P", "Presente", 2.0), ("A", "Ausente", 0.0), ("T", "Tarde", 1.0), ("J", "Justificado", 1.0)]
