"""Data warehouse for SIU-Guaraní and Moodle: extract PostgreSQL sources with dlt into DuckDB."""

__version__ = "0.1.0"
