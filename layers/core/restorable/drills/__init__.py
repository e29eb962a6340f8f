"""Restore drills: the pure plan, the steps the state machine runs, the scheduler's choice, the janitor."""
