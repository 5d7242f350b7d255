"""Benchmarks (`make bench`): speed and memory of each stage at several scales, printed as a table."""
