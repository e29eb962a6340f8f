"""What will a backup policy do to a fleet over years? Pure planning with Restorable's own core.

Not deployed. Importing ``local_runtime`` puts the core layer (``restorable``) on the path and
gives the template reader, so the simulator plans with the same code and the same schedules
the deployed functions use.
"""

from __future__ import annotations

import local_runtime  # noqa: F401 - puts the core layer on the import path
