"""Embedded development PostgreSQL: start/stop a local server and manage its databases."""

from dwh.devdb.databases import create_database, drop_database, url_for
from dwh.devdb.server import default_data_dir, running_url, start, stop

__all__ = [
    "create_database",
    "default_data_dir",
    "drop_database",
    "running_url",
    "start",
    "stop",
    "url_for",
]
