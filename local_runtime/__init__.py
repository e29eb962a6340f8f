"""Run Restorable locally on the embedded AWS emulator (moto), wired as template.yaml says.

Not deployed. The core layer's source is put on the import path so that the local
runtime uses the same ``restorable`` package the functions get from their layer.
"""

from __future__ import annotations

import sys
from pathlib import Path

_CORE_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "core")
if _CORE_LAYER not in sys.path:
    sys.path.insert(0, _CORE_LAYER)
