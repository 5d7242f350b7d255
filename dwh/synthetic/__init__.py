"""Synthetic SIU Guaraní 3 and Moodle source databases for the demo, the tests and the benchmarks."""
