"""Former home of the SQL file headers, kept as an alias: use dwh.layers.sql_files."""

from dwh.layers.sql_files import SQL_ROOT, DataTest, SqlFile, SqlLayerError, layer_files, parse_header

__all__ = ["SQL_ROOT", "DataTest", "SqlFile", "SqlLayerError", "layer_files", "parse_header"]
