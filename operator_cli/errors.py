"""The command line's one error: a sentence for stderr and an exit status."""

from __future__ import annotations


class CliError(Exception):
    """Shown as one line on stderr; the command exits with ``exit_code`` (1 unless said otherwise)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
