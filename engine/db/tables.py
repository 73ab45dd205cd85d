"""The engine's schema: users, chat identities, uploads, jobs and their outputs, share links.

Tables are bound to a concrete engine at start-up by :func:`moodmix.engine.db.database.bind`,
so the same classes serve SQLite and Postgres.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

#: Placeholder engine until bind() runs; never used for queries (plugin tables declare it too).
UNBOUND = SQLiteEngine(path=":memory:")


class User(Table, tablename="users", db=UNBOUND):
    id = UUID(primary_key=True)
    email = Varchar(length=320, unique=True, index=True, null=True, default=None)
    username = Varchar(length=64, unique=True, index=True)
    password_hash = Text(null=True, default=None)
    #: Carried by every access token; bumped to end all the user's tokens at once (sign out everywhere).
    token_version = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class ChatIdentity(Table, tablename="chat_identities", db=UNBOUND):
    """A Discord/Telegram account mapped to a moodmix user (unique per platform + id)."""

    id = UUID(primary_key=True)
    platform = Varchar(length=32)
    platform_user_id = Varchar(length=64)
    display_name = Varchar(length=128, null=True, default=None)
    user = ForeignKey(references=User, null=False)
    created_at = Timestamptz(default=TimestamptzNow())


class LinkCode(Table, tablename="link_codes", db=UNBOUND):
    """One-time code a web user creates to link a chat identity to their account."""

    code = Varchar(length=16, primary_key=True)
    user = ForeignKey(references=User, null=False)
    expires_at = Timestamptz()


class AudioFile(Table, tablename="audio_files", db=UNBOUND):
    id = UUID(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True)
    filename = Varchar(length=255)
    storage_key = Text()  # where the bytes are, relative to the storage root
    sha256 = Varchar(length=64, index=True)
    size_bytes = Integer()
    content_type = Varchar(length=64)
    format = Varchar(length=16)
    duration = Float()
    sample_rate = Integer()
    channels = Integer()
    source = Varchar(length=16, default="upload")  # upload | output
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class ProcessingJob(Table, tablename="processing_jobs", db=UNBOUND):
    id = UUID(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True)
    audio = ForeignKey(references=AudioFile, null=True, default=None)
    capability = Varchar(length=64, index=True)
    status = Varchar(length=16, default="queued", index=True)
    progress = Real(default=0.0)
    message = Text(null=True, default=None)
    params = JSON(default="{}")
    inputs = JSON(default="{}")
    result = JSON(null=True, default=None)
    result_path = Text(null=True, default=None)
    backend = Varchar(length=64, null=True, default=None)
    error_code = Varchar(length=64, null=True, default=None)
    error = Text(null=True, default=None)
    attempts = Integer(default=0)
    max_attempts = Integer(default=3)
    time_limit_s = Float(default=600.0)
    depends_on = UUID(null=True, default=None, index=True)
    cancel_requested = Boolean(default=False)
    worker = Varchar(length=128, null=True, default=None)
    #: The worker pool the job is routed to (``gpu``/``cpu``), and that of the worker that claimed it.
    pool = Varchar(length=16, default="cpu")
    worker_pool = Varchar(length=16, null=True, default=None)
    #: 0 for short jobs (run first), 1 otherwise.
    priority = Integer(default=1)
    #: A retry waits until then (backoff).
    run_after = Timestamptz(null=True, default=None)
    plugin_version = Varchar(length=32, null=True, default=None)
    cache_key = Varchar(length=64, null=True, default=None, index=True)
    cache_hit = Boolean(default=False)
    reused_from = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class JobOutput(Table, tablename="job_outputs", db=UNBOUND):
    id = UUID(primary_key=True)
    job = ForeignKey(references=ProcessingJob, null=False, index=True)
    name = Varchar(length=64)
    kind = Varchar(length=16)
    storage_key = Text()
    filename = Varchar(length=255)
    content_type = Varchar(length=64)
    size_bytes = Integer()
    sha256 = Varchar(length=64)


class ShareLink(Table, tablename="share_links", db=UNBOUND):
    """A public, expiring, revocable link to one job output."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True)
    job = ForeignKey(references=ProcessingJob, null=False)
    output = Varchar(length=64)
    expires_at = Timestamptz()
    revoked = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class RefreshToken(Table, tablename="refresh_tokens", db=UNBOUND):
    """One refresh token of a browser session, stored hashed; one-time use, rotated within its family.

    A family is one sign-in: each refresh marks its token ``used_at`` and adds the next one.
    A used token presented again means it was copied, so the whole family is revoked.
    """

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True)
    family = UUID(index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


#: The engine's tables. Plugins own theirs (``register_tables``), e.g. the mood plugin's ``moods``.
ALL_TABLES: tuple[type[Table], ...] = (User, ChatIdentity, LinkCode, AudioFile, ProcessingJob, JobOutput,
                                       ShareLink, RefreshToken)
