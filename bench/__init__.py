"""Benchmarks at clinic-network scale: a synthetic data generator and the measured workloads (README.md)."""
