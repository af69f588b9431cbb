"""Benchmarks at real scale: `bench/run` seeds data sets and measures the workloads of the README."""
