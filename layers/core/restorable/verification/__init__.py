"""Backup verification: the pure checks, the job that gathers their evidence, its request, settings and metrics."""
