"""``restorable``: the operator's command line against a deployed Restorable stack (not deployed itself)."""
