"""Benchmarks: AWS API calls per run and cold-start import time. Run with ``make bench``."""
