"""Restorable core: policy, planning and naming (pure), plus AWS adapters and settings."""

__version__ = "0.1.0"
