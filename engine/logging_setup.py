"""Logging for every moodmix process: text or JSON lines, each record tagged with its job id.

``MOODMIX_LOG_FORMAT=json`` makes every line one JSON object, so a log shipper can index
``job_id``, ``level`` and ``logger`` without parsing. The job id comes from a context
variable the job runner sets when it picks a job up; asyncio tasks and
``asyncio.to_thread`` copy the context, so the plugin's own log lines (in its worker
thread) carry the id too, and concurrent jobs never see each other's.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar

#: The job the current task or thread is working on (``None`` outside jobs).
job_context: ContextVar[str | None] = ContextVar("moodmix_job_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(job_tag)s %(message)s"
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is worth keeping.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "job_id",
                                                                           "job_tag", "taskName"}


class JobContextFilter(logging.Filter):
    """Adds ``job_id`` (and ``job_tag``, `` [job …]`` or empty, for text lines) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id = getattr(record, "job_id", None) or job_context.get()
        record.job_id = job_id
        record.job_tag = f" [job {job_id}]" if job_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, job_id, exception, and any ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "job_id", None):
            doc["job_id"] = record.job_id
        doc.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Install one stderr handler in the chosen format on the root logger (calling it again replaces it)."""
    handler = logging.StreamHandler()
    handler.addFilter(JobContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_moodmix", False):
            root.removeHandler(old)
    handler._moodmix = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
