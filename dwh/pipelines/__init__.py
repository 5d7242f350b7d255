"""dlt pipelines that load the configured sources into the warehouse."""
