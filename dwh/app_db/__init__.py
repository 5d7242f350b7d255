"""The operational application database: interventions tutors record and the audit of identified views."""

from dwh.app_db.engine import AppDbError
from dwh.app_db.store import AppDb
from dwh.app_db.validation import ACCIONES, CANALES, RESULTADOS, InvalidIntervention

__all__ = ["ACCIONES", "CANALES", "RESULTADOS", "AppDb", "AppDbError", "InvalidIntervention"]
