"""Remove job scratch folders that a killed process left behind.

The runner deletes ``temp/job-<id>-<n>/`` after every attempt, but a SIGKILLed or
OOM-killed worker never reaches that ``finally``; the inputs, stems and renders of the
interrupted attempt (hundreds of MB for a long track) then stay on disk for good. At start-up
a worker (or an embedded server) removes every scratch folder whose job is not running now:
a running job's current attempt is the only one whose folder may still be in use.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from moodmix.engine.db.tables import ProcessingJob
from moodmix.engine.jobs import states

if TYPE_CHECKING:
    from moodmix.engine.runtime import Runtime

SCRATCH_NAME = re.compile(r"^job-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-[0-9a-f]{8}$")


async def remove_orphan_scratch(rt: Runtime) -> int:
    """Delete scratch folders of jobs that are not running; returns how many were removed."""
    by_job: dict[str, list[Path]] = {}
    for path in rt.storage.scratch_root.iterdir():
        match = SCRATCH_NAME.match(path.name)
        if match and path.is_dir():
            by_job.setdefault(match.group(1), []).append(path)
    if not by_job:
        return 0
    running = await ProcessingJob.select(ProcessingJob.id).where(
        ProcessingJob.id.is_in(list(by_job)) & (ProcessingJob.status == states.RUNNING))
    busy = {str(row["id"]) for row in running}
    removed = 0
    for job_id, paths in by_job.items():
        if job_id not in busy:
            for path in paths:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed
