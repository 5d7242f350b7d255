"""Example source list for dwh: copy to dwh/config.py (git-ignored) or point DWH_CONFIG at a copy."""

# SOURCE_DATABASES lists the PostgreSQL databases to extract. Each entry is a dict:
#
#   name         lowercase letters, digits and _ only; unique. It names the source's
#                schemas in the warehouse, so keep it stable once data is loaded.
#   conn_string  a SQLAlchemy PostgreSQL URL, or "env:VARIABLE" to read the URL from
#                that environment variable (keeps passwords out of this file).
#   kind         "guarani" (SIU-Guaraní, the default) or "moodle".
#   max_age_days optional freshness limit: when the newest data loaded from this source
#                is older than this many days, the run reports it and exits non-zero
#                (so cron mails someone). Unset: freshness is reported, never fails.
#                Mind the holidays: Guaraní is quiet in January (e.g. 45), Moodle less so.
#
# URL forms that work:
#   TCP with password:  postgresql+psycopg2://dwh_reader:secret@db.example.edu:5432/guarani3
#   unix socket:        postgresql+psycopg2://dwh_reader@/guarani3?host=/var/run/postgresql
#   from environment:   env:GUARANI_FACULTAD_URL
#
# The three entries below read their URLs from the environment. `make demo` does not
# need this file: it writes dwh/data/demo_config.py with the URLs of the embedded
# development PostgreSQL (unix-socket URLs such as
# postgresql+psycopg2://postgres@/guarani_a?host=/path/to/repo/.devdb) and runs with
# DWH_CONFIG pointing at it. For real sources replace the entries, e.g.:
#
#   {"name": "guarani_ingenieria",
#    "conn_string": "postgresql+psycopg2://dwh_reader:secret@guarani.example.edu:5432/guarani3",
#    "kind": "guarani"},
#   {"name": "guarani_medicina",
#    "conn_string": "postgresql+psycopg2://dwh_reader@/guarani3?host=/var/run/postgresql"},
#   {"name": "moodle_campus", "conn_string": "env:MOODLE_CAMPUS_URL", "kind": "moodle"},

SOURCE_DATABASES = [
    {"name": "guarani_a", "conn_string": "env:DWH_DEMO_GUARANI_A_URL", "kind": "guarani"},
    {"name": "guarani_b", "conn_string": "env:DWH_DEMO_GUARANI_B_URL", "kind": "guarani"},
    {"name": "moodle", "conn_string": "env:DWH_DEMO_MOODLE_URL", "kind": "moodle"},
]

# The dashboard's users (python -m dwh.dashboard refuses to start without them; see
# dwh/docs/DASHBOARD_ACCESS.md). Make each entry with
#   python -m dwh.dashboard usuarios agregar --usuario ana --rol tutor --propuesta "Abogacía" --sede "Sede Centro"
# and paste the line it prints. rol: direccion (aggregates, no names), tutor (the identified list of their
# propuestas and sedes, by the names the dashboard shows; ["*"] = all) or admin (users and data status).
#
# DASHBOARD_USERS = [
#     {"usuario": "ana", "hash": "$argon2id$v=19$...", "rol": "tutor",
#      "propuestas": ["Abogacía"], "sedes": ["Sede Centro"]},
# ]
# DASHBOARD_PROXIES = 1                 # behind one reverse proxy (nginx with TLS): trust its X-Forwarded-*
# DASHBOARD_TRUST_REMOTE_USER = False   # True: the proxy's SSO passes the user in the Remote-User header
