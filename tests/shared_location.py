"""Where the project's shared folder (real data sets, BatteryPass schemas, acceptance checks) is:
`$BMTS_SHARED`, else the first `shared/` beside the checkout or beside one of its parent folders (a git
worktree may sit deeper than the checkout). Tests that need it skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path


def _find() -> Path:
    if os.environ.get("BMTS_SHARED"):
        return Path(os.environ["BMTS_SHARED"])
    here = Path(__file__).resolve()
    for parent in here.parents[1:]:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared"
    return here.parents[2] / "shared"


SHARED = _find()
SHARED_DATA = SHARED / "data"
