"""Helpers shared by the tests and the benchmarks (bench/): plain functions, no fixtures."""
