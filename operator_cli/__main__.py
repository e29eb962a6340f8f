"""``python -m operator_cli`` is the ``restorable`` command."""

from operator_cli.main import cli

cli()
