"""Reproducible benchmarks behind `ragwright bench`: results are JSON files, every README figure comes from one."""
