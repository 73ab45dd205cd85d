"""The service layer: every front end (REST API, CLI, bots) goes through these methods.

All lookups are scoped to the calling user: another user's id is simply "not found".
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterable, Callable
from pathlib import Path
from typing import Any

from moodmix.engine import audio_io, auth, timeutil
from moodmix.engine.db.tables import AudioFile, ChatIdentity, JobOutput, LinkCode, ProcessingJob, ShareLink, User
from moodmix.engine.errors import BadInput, Conflict, Forbidden, Gone, MoodmixError, NotFound, Unauthorized
from moodmix.engine.jobs import states
from moodmix.engine.runtime import Runtime

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
MAX_TEXT_INPUT = 2000
MAX_PAGE_SIZE = 100


def _uuid(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"{what} not found", code=f"{what}_not_found") from None


def _page(page: int, per_page: int) -> tuple[int, int]:
    if page < 1:
        raise BadInput("page must be 1 or more", code="bad_page")
    if not 1 <= per_page <= MAX_PAGE_SIZE:
        raise BadInput(f"per_page must be between 1 and {MAX_PAGE_SIZE}", code="bad_page")
    return page, per_page


class Service:
    USER_CACHE_S = 10.0

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # Token subject -> (expiry, user): status polling would otherwise query users on every request.
        self._user_cache: dict[str, tuple[float, dict]] = {}

    @property
    def settings(self):
        return self.rt.settings

    # ---- users and tokens -------------------------------------------------------------------
    async def register(self, *, username: str, password: str, email: str | None = None) -> dict:
        if not USERNAME_RE.match(username or ""):
            raise BadInput("username must be 3–32 letters, digits, '_', '.' or '-'", code="bad_username")
        if email is not None and not EMAIL_RE.match(email):
            raise BadInput("email address is not valid", code="bad_email")
        if len(password or "") < 8 or len(password) > 256:
            raise BadInput("password must be 8–256 characters", code="bad_password")
        email = email.lower() if email else None
        clash = User.username == username
        if email:
            clash = clash | (User.email == email)
        if await User.exists().where(clash):
            raise Conflict("that username or email is already registered", code="user_exists")
        pw = await asyncio.to_thread(auth.hash_password, password)
        user = User(username=username, email=email, password_hash=pw)
        try:
            await user.save()
        except Exception as exc:  # unique race between the check and the insert
            raise Conflict("that username or email is already registered", code="user_exists") from exc
        return self._user_dict(user.to_dict())

    async def login(self, *, identifier: str, password: str) -> dict:
        ident = (identifier or "").strip()
        row = await User.select().where((User.username == ident) | (User.email == ident.lower())).first()
        ok = row is not None and await asyncio.to_thread(auth.verify_password, row["password_hash"], password)
        if not ok:
            raise Unauthorized("wrong username or password", code="bad_credentials")
        return {"token": self.issue_token(str(row["id"])), "token_type": "Bearer",
                "expires_in": int(self.settings.jwt_expiry_days * 86400), "user": self._user_dict(row)}

    def issue_token(self, user_id: str, kind: str = "access") -> str:
        return auth.issue_token(self.settings.secret_key, user_id, kind=kind,
                                ttl_s=self.settings.jwt_expiry_days * 86400)

    async def user_for_token(self, token: str) -> dict:
        claims = auth.read_token(self.settings.secret_key, token)
        if claims.kind != "access":
            raise Unauthorized("this token cannot be used as a user token", code="token_invalid")
        cached = self._user_cache.get(claims.subject)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        row = await User.select().where(User.id == _uuid(claims.subject, "user")).first()
        if row is None:
            raise Unauthorized("the account behind this token no longer exists", code="token_invalid")
        user = self._user_dict(row)
        if len(self._user_cache) > 10_000:
            self._user_cache.clear()
        self._user_cache[claims.subject] = (time.monotonic() + self.USER_CACHE_S, user)
        return user

    def check_service_token(self, token: str) -> None:
        claims = auth.read_token(self.settings.secret_key, token)
        if claims.kind != "service":
            raise Unauthorized("a service token is required to act for chat users", code="token_invalid")

    async def get_user(self, user_id: str) -> dict:
        row = await User.select().where(User.id == _uuid(user_id, "user")).first()
        if row is None:
            raise NotFound("user not found", code="user_not_found")
        return self._user_dict(row)

    @staticmethod
    def _user_dict(row: dict) -> dict:
        return {"id": str(row["id"]), "username": row["username"], "email": row.get("email"),
                "created_at": timeutil.iso(row.get("created_at"))}

    # ---- chat identities -----------------------------------------------------------------------
    async def chat_user(self, platform: str, platform_user_id: str, display_name: str | None = None) -> dict:
        """The moodmix user behind a chat account, created on first use."""
        platform = platform.lower()
        if platform not in ("discord", "telegram") or not re.fullmatch(r"[0-9A-Za-z_-]{1,64}",
                                                                     platform_user_id or ""):
            raise BadInput("unknown chat platform or user id", code="bad_chat_identity")
        row = await ChatIdentity.select(ChatIdentity.user).where(
            (ChatIdentity.platform == platform) & (ChatIdentity.platform_user_id == platform_user_id)).first()
        if row is not None:
            return await self.get_user(str(row["user"]))
        user = User(username=f"{platform}-{platform_user_id}"[:64], email=None, password_hash=None)
        await user.save()
        try:
            await ChatIdentity(platform=platform, platform_user_id=platform_user_id,
                               display_name=(display_name or "")[:128], user=user.id).save()
        except Exception:
            await User.delete().where(User.id == user.id)
            return await self.chat_user(platform, platform_user_id, display_name)
        return self._user_dict(user.to_dict())

    async def create_link_code(self, user_id: str) -> dict:
        code = secrets.token_hex(4).upper()
        expires = timeutil.now().timestamp() + 600
        from datetime import UTC, datetime

        await LinkCode(code=code, user=_uuid(user_id, "user"),
                       expires_at=datetime.fromtimestamp(expires, UTC)).save()
        return {"code": code, "expires_in": 600}

    async def link_chat_identity(self, platform: str, platform_user_id: str, code: str) -> dict:
        """Point a chat account at the web account that created ``code`` (single use)."""
        row = await LinkCode.select().where(LinkCode.code == (code or "").strip().upper()).first()
        if row is None or row["expires_at"] < timeutil.now():
            raise BadInput("that link code is unknown or expired; create a new one on the web page",
                           code="bad_link_code")
        await LinkCode.delete().where(LinkCode.code == row["code"])
        await self.chat_user(platform, platform_user_id)
        await ChatIdentity.update({ChatIdentity.user: row["user"]}).where(
            (ChatIdentity.platform == platform.lower()) & (ChatIdentity.platform_user_id == platform_user_id))
        return await self.get_user(str(row["user"]))

    # ---- files --------------------------------------------------------------------------------
    async def upload(self, user_id: str, filename: str | Callable[[], str | None],
                     chunks: AsyncIterable[bytes]) -> dict:
        """Stream, hash, validate (content sniffed, fully decoded) and record an upload.

        ``filename`` may be a callable, read after the body: multipart names arrive with it.
        """
        storage = self.rt.storage
        tmp, sha, size = await storage.receive(chunks, self.settings.max_upload_bytes)
        try:
            if size == 0:
                raise audio_io.AudioError("the file is empty", code="empty_file")
            info = await asyncio.to_thread(audio_io.verify_decodable, tmp,
                                           max_seconds=self.settings.max_audio_seconds)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        blob = await storage.adopt_upload(tmp, sha)
        safe_name = _safe_filename(filename() if callable(filename) else filename, info.format)
        row = AudioFile(user=_uuid(user_id, "user"), filename=safe_name, file_path=blob.key, sha256=sha,
                        size_bytes=size, content_type=audio_io.CONTENT_TYPES.get(info.format, "audio/octet-stream"),
                        format=info.format, duration=info.duration, sample_rate=info.sample_rate,
                        channels=info.channels, source="upload")
        await row.save()
        return self._file_dict(row.to_dict())

    async def list_files(self, user_id: str, *, page: int = 1, per_page: int = 20) -> dict:
        page, per_page = _page(page, per_page)
        where = AudioFile.user == _uuid(user_id, "user")
        total = await AudioFile.count().where(where)
        rows = await AudioFile.select().where(where).order_by(AudioFile.created_at, ascending=False).limit(
            per_page).offset((page - 1) * per_page)
        return {"items": [self._file_dict(r) for r in rows], "page": page, "per_page": per_page, "total": total}

    async def _file_row(self, user_id: str, file_id: str) -> dict:
        row = await AudioFile.select().where(
            (AudioFile.id == _uuid(file_id, "file")) & (AudioFile.user == _uuid(user_id, "user"))).first()
        if row is None:
            raise NotFound("file not found", code="file_not_found")
        return row

    async def get_file(self, user_id: str, file_id: str) -> dict:
        return self._file_dict(await self._file_row(user_id, file_id))

    async def file_download(self, user_id: str, file_id: str) -> tuple[str, str, str]:
        """``(storage key, file name, content type)`` of one of the user's files."""
        row = await self._file_row(user_id, file_id)
        return row["file_path"], row["filename"], row["content_type"]

    async def delete_file(self, user_id: str, file_id: str) -> None:
        row = await self._file_row(user_id, file_id)
        busy = await ProcessingJob.exists().where(
            (ProcessingJob.audio == row["id"]) & ProcessingJob.status.is_in([states.QUEUED, states.RUNNING]))
        if busy:
            raise Conflict("the file is used by a job that has not finished; cancel it first", code="file_busy")
        await ProcessingJob.update({ProcessingJob.audio: None}).where(ProcessingJob.audio == row["id"])
        from moodmix.engine.db.tables import Mood, Remix

        await Mood.update({Mood.audio: None}).where(Mood.audio == row["id"])
        await Remix.update({Remix.original: None}).where(Remix.original == row["id"])
        await AudioFile.delete().where(AudioFile.id == row["id"])
        if not await AudioFile.exists().where(AudioFile.file_path == row["file_path"]):
            await self.rt.storage.delete(row["file_path"])  # last reference to these bytes

    @staticmethod
    def _file_dict(row: dict) -> dict:
        return {
            "id": str(row["id"]), "filename": row["filename"], "format": row["format"],
            "content_type": row["content_type"], "size_bytes": row["size_bytes"], "sha256": row["sha256"],
            "duration": row["duration"], "sample_rate": row["sample_rate"], "channels": row["channels"],
            "created_at": timeutil.iso(row["created_at"]),
        }

    # ---- capabilities ---------------------------------------------------------------------------
    def capabilities(self) -> list[dict]:
        return [cap.describe() for _, cap in sorted(self.rt.registry.capabilities.items())]

    def genres(self, genre_set: str | None = None) -> list[dict]:
        """Every genre with its set, or only those of ``genre_set`` (a set no one declares is a 404)."""
        reg = self.rt.registry
        if genre_set is not None:
            declared = {s for c in reg.capabilities.values() for s in c.genre_params.values()}
            if genre_set not in reg.genre_sets and genre_set not in declared:
                known = ", ".join(sorted(set(reg.genre_sets) | declared)) or "none"
                raise NotFound(f"unknown genre set {genre_set!r}; sets: {known}", code="unknown_genre_set")
        sets = [genre_set] if genre_set is not None else sorted(reg.genre_sets)
        return [{"name": g.name, "description": g.description, "aliases": list(g.aliases), "set": g.set}
                for s in sets for _, g in sorted(reg.genres_in(s).items())]

    # ---- jobs -----------------------------------------------------------------------------------
    async def create_job(self, user_id: str, capability: str, *, inputs: dict[str, Any] | None = None,
                         params: dict[str, Any] | None = None, reuse: bool = True) -> dict:
        """Validate and queue a job.

        ``inputs`` maps input names to a file id (``"…"`` or ``{"file_id": …}``), another job's
        output (``{"job_id": …, "output": "vocals"}``) or, for text inputs, a string. With ``reuse``,
        a finished job with the same input bytes, capability, parameters and plugin version answers
        at once (recorded as a cache hit).
        """
        cap = self.rt.registry.capability(capability)
        if params is not None and not isinstance(params, dict):
            raise BadInput("params must be an object", code="bad_params")
        parsed = cap.parse_params(params)
        if cap.check is not None:
            cap.check(parsed, self.rt.registry)
        import msgspec

        normalised_params = msgspec.to_builtins(parsed)
        uid = _uuid(user_id, "user")
        inputs = dict(inputs or {})
        specs = {i.name: i for i in cap.inputs}
        for name in inputs:
            if name not in specs:
                raise BadInput(f"{capability!r} has no input {name!r} (inputs: {', '.join(specs)})",
                               code="bad_input_name")
        audio: dict[str, dict] = {}
        texts: dict[str, str] = {}
        content: dict[str, str] = {}  # input name -> sha256 of its bytes (for result reuse)
        depends_on = None
        primary_file = None
        for spec in cap.inputs:
            value = inputs.get(spec.name)
            if value is None or value == "":
                if spec.required:
                    raise BadInput(f"{capability!r} needs its {spec.kind} input {spec.name!r}",
                                   code="missing_input")
                continue
            if spec.kind == "text":
                if not isinstance(value, str) or not value.strip():
                    raise BadInput(f"input {spec.name!r} must be non-empty text", code="bad_input")
                if len(value) > MAX_TEXT_INPUT:
                    raise BadInput(f"input {spec.name!r} is longer than {MAX_TEXT_INPUT} characters",
                                   code="bad_input")
                texts[spec.name] = value
                continue
            ref = {"file_id": value} if isinstance(value, str) else value
            if not isinstance(ref, dict):
                raise BadInput(f"input {spec.name!r} must be a file id or {{job_id, output}}", code="bad_input")
            if "file_id" in ref:
                row = await self._file_row(user_id, ref["file_id"])
                audio[spec.name] = {"file_id": str(row["id"])}
                content[spec.name] = row["sha256"]
                primary_file = primary_file or row["id"]
            elif "job_id" in ref:
                parent = await self._job_row(user_id, ref["job_id"])
                out = str(ref.get("output") or "")
                pcap = self.rt.registry.capabilities.get(parent["job_type"])
                names = {o.name for o in pcap.outputs if o.kind == "audio"} if pcap else set()
                if out not in names:
                    raise BadInput(f"job {parent['id']} ({parent['job_type']}) has no audio output {out!r}; "
                                   f"audio outputs: {', '.join(sorted(names)) or 'none'}", code="bad_input")
                if parent["status"] in (states.FAILED, states.CANCELLED):
                    raise BadInput(f"job {parent['id']} {parent['status']}; its outputs will never exist",
                                   code="parent_failed")
                if parent["status"] != states.SUCCEEDED:
                    if depends_on and depends_on != parent["id"]:
                        raise BadInput("a job can wait for only one unfinished job", code="bad_input")
                    depends_on = parent["id"]
                audio[spec.name] = {"job_id": str(parent["id"]), "output": out}
                if parent["status"] == states.SUCCEEDED:
                    out_row = await JobOutput.select(JobOutput.sha256).where(
                        (JobOutput.job == parent["id"]) & (JobOutput.name == out)).first()
                    if out_row:
                        content[spec.name] = out_row["sha256"]
            else:
                raise BadInput(f"input {spec.name!r} must be a file id or {{job_id, output}}", code="bad_input")
        cache_key = None
        if depends_on is None and cap.is_cacheable(parsed) and len(content) == len(audio):
            cache_key = result_cache_key(cap.name, cap.version, normalised_params, content, texts)
        job = ProcessingJob(
            user=uid, audio=primary_file, job_type=cap.name, status=states.QUEUED, progress=0.0,
            params=normalised_params, inputs={"audio": audio, "texts": texts},
            max_attempts=max(1, self.settings.job_retries), time_limit_s=self.settings.job_time_limit_s,
            depends_on=depends_on, plugin_version=cap.version, message="queued", cache_key=cache_key,
        )
        await job.save()
        if reuse and cache_key and await self._reuse_finished(job, cache_key):
            return await self.get_job(user_id, str(job.id))
        if depends_on is None:
            await self._enqueue_or_fail(job.id)
        else:
            await self._recheck_parent(job.id, depends_on)
        return await self.get_job(user_id, str(job.id))

    async def _enqueue_or_fail(self, job_id: Any) -> None:
        """A job the queue never received must not sit in "queued" forever: fail it and answer 503."""
        try:
            await self.rt.enqueue(str(job_id))
        except Exception as exc:
            await ProcessingJob.update({
                ProcessingJob.status: states.FAILED, ProcessingJob.error_code: "queue_unavailable",
                ProcessingJob.error: "the job queue was unavailable", ProcessingJob.finished_at: timeutil.now(),
            }).where((ProcessingJob.id == job_id) & (ProcessingJob.status == states.QUEUED))
            raise MoodmixError("the job queue is unavailable; try again in a moment", code="queue_unavailable",
                               status=503) from exc

    async def _recheck_parent(self, job_id: Any, parent_id: Any) -> None:
        """Close the race where the parent finished between our check and our insert."""
        parent = await ProcessingJob.select(ProcessingJob.status).where(ProcessingJob.id == parent_id).first()
        if parent and parent["status"] == states.SUCCEEDED:
            await self.rt.enqueue(str(job_id))  # the runner's claim makes a double send harmless
        elif parent and parent["status"] in (states.FAILED, states.CANCELLED):
            await ProcessingJob.update({
                ProcessingJob.status: states.FAILED, ProcessingJob.error_code: "parent_failed",
                ProcessingJob.error: f"the job it depends on ({parent_id}) {parent['status']}",
                ProcessingJob.finished_at: timeutil.now(),
            }).where((ProcessingJob.id == job_id) & (ProcessingJob.status == states.QUEUED))

    async def _reuse_finished(self, job: ProcessingJob, cache_key: str) -> bool:
        """Answer ``job`` with a finished twin's outputs (the stored bytes are shared, not copied)."""
        twin = await ProcessingJob.select().where(
            (ProcessingJob.cache_key == cache_key) & (ProcessingJob.status == states.SUCCEEDED)
            & ProcessingJob.cache_hit.eq(False) & (ProcessingJob.id != job.id)
        ).order_by(ProcessingJob.finished_at, ascending=False).first()
        if twin is None:
            return False
        outputs = await JobOutput.select().where(JobOutput.job == twin["id"])
        for out in outputs:
            await JobOutput(job=job.id, name=out["name"], kind=out["kind"], file_path=out["file_path"],
                            filename=out["filename"], content_type=out["content_type"],
                            size_bytes=out["size_bytes"], sha256=out["sha256"]).save()
        await ProcessingJob.update({
            ProcessingJob.status: states.SUCCEEDED, ProcessingJob.progress: 100.0,
            ProcessingJob.message: "reused a finished identical job", ProcessingJob.result: twin["result"],
            ProcessingJob.backend: twin["backend"], ProcessingJob.cache_hit: True,
            ProcessingJob.reused_from: twin["id"], ProcessingJob.result_path: twin["result_path"],
            ProcessingJob.started_at: timeutil.now(), ProcessingJob.finished_at: timeutil.now(),
        }).where(ProcessingJob.id == job.id)
        return True

    async def _job_row(self, user_id: str, job_id: str) -> dict:
        row = await ProcessingJob.select().where(
            (ProcessingJob.id == _uuid(job_id, "job")) & (ProcessingJob.user == _uuid(user_id, "user"))
        ).first().output(load_json=True)
        if row is None:
            raise NotFound("job not found", code="job_not_found")
        return row

    async def get_job(self, user_id: str, job_id: str) -> dict:
        return self._job_dict(await self._job_row(user_id, job_id))

    async def list_jobs(self, user_id: str, *, status: str | None = None, job_type: str | None = None,
                        page: int = 1, per_page: int = 20) -> dict:
        page, per_page = _page(page, per_page)
        where = ProcessingJob.user == _uuid(user_id, "user")
        if status:
            if status not in states.ALL:
                raise BadInput(f"unknown status {status!r}; one of {', '.join(states.ALL)}", code="bad_filter")
            where = where & (ProcessingJob.status == status)
        if job_type:
            where = where & (ProcessingJob.job_type == job_type)
        total = await ProcessingJob.count().where(where)
        rows = await ProcessingJob.select().where(where).order_by(
            ProcessingJob.created_at, ascending=False).limit(per_page).offset((page - 1) * per_page).output(
            load_json=True)
        return {"items": [self._job_dict(r) for r in rows], "page": page, "per_page": per_page, "total": total}

    async def cancel_job(self, user_id: str, job_id: str) -> dict:
        row = await self._job_row(user_id, job_id)
        if row["status"] in states.TERMINAL:
            raise Conflict(f"the job has already {row['status']}", code="job_finished")
        await ProcessingJob.update({ProcessingJob.cancel_requested: True}).where(ProcessingJob.id == row["id"])
        if row["status"] == states.QUEUED:
            await ProcessingJob.update({
                ProcessingJob.status: states.CANCELLED, ProcessingJob.error_code: "cancelled",
                ProcessingJob.error: "cancelled by the user", ProcessingJob.message: "cancelled by the user",
                ProcessingJob.finished_at: timeutil.now(),
            }).where((ProcessingJob.id == row["id"]) & (ProcessingJob.status == states.QUEUED))
        return await self.get_job(user_id, job_id)

    async def job_outputs(self, user_id: str, job_id: str) -> list[dict]:
        row = await self._job_row(user_id, job_id)
        outs = await JobOutput.select().where(JobOutput.job == row["id"]).order_by(JobOutput.name)
        return [self._output_dict(str(row["id"]), o) for o in outs]

    async def output_download(self, user_id: str, job_id: str, name: str) -> tuple[str, str, str]:
        row = await self._job_row(user_id, job_id)
        out = await JobOutput.select().where((JobOutput.job == row["id"]) & (JobOutput.name == name)).first()
        if out is None:
            raise NotFound(f"job has no output {name!r}", code="output_not_found")
        return out["file_path"], out["filename"], out["content_type"]

    # ---- short-lived media URLs (so <audio> can stream with Range, which cannot send headers) ------
    MEDIA_TTL_S = 900

    def media_url(self, key: str, filename: str, content_type: str) -> dict:
        token = jwt_encode_media(self.settings.secret_key, key, filename, content_type, self.MEDIA_TTL_S)
        return {"url": f"/m/{token}", "expires_in": self.MEDIA_TTL_S}

    def open_media(self, token: str) -> tuple[str, str, str]:
        try:
            claims = jwt_decode_media(self.settings.secret_key, token)
        except Unauthorized as exc:
            if exc.code == "token_expired":
                raise Gone("this media link has expired; ask for a new one", code="media_expired") from None
            raise Forbidden("this media link is not valid", code="media_invalid") from None
        return claims["key"], claims["name"], claims["type"]

    # ---- share links ------------------------------------------------------------------------------
    async def create_share(self, user_id: str, job_id: str, output: str, expires_in_s: float) -> dict:
        """A signed public link to one output; valid until it expires or is revoked."""
        max_s = self.settings.share_link_max_days * 86400
        if not 60 <= expires_in_s <= max_s:
            raise BadInput(f"expires_in_s must be between 60 and {int(max_s)}", code="bad_expiry")
        row = await self._job_row(user_id, job_id)
        if not await JobOutput.exists().where((JobOutput.job == row["id"]) & (JobOutput.name == output)):
            raise NotFound(f"job has no output {output!r}", code="output_not_found")
        from datetime import timedelta

        expires = timeutil.now() + timedelta(seconds=expires_in_s)
        link = ShareLink(user=_uuid(user_id, "user"), job=row["id"], output=output, expires_at=expires)
        await link.save()
        token = auth.issue_token(self.settings.secret_key, str(link.id), kind="share", ttl_s=expires_in_s)
        return self._share_dict(link.to_dict(), token)

    def _share_dict(self, row: dict, token: str | None = None) -> dict:
        d = {"id": str(row["id"]), "job_id": str(row["job"]), "output": row["output"],
             "expires_at": timeutil.iso(row["expires_at"]), "revoked": bool(row["revoked"])}
        if token:
            d["token"] = token
            d["path"] = f"/s/{token}"
            d["url"] = self.settings.public_url.rstrip("/") + d["path"]
        return d

    async def list_shares(self, user_id: str) -> list[dict]:
        rows = await ShareLink.select().where(ShareLink.user == _uuid(user_id, "user")).order_by(
            ShareLink.created_at, ascending=False).limit(200)
        return [self._share_dict(r) for r in rows]

    async def revoke_share(self, user_id: str, share_id: str) -> None:
        rows = await ShareLink.update({ShareLink.revoked: True}).where(
            (ShareLink.id == _uuid(share_id, "share")) & (ShareLink.user == _uuid(user_id, "user"))
        ).returning(ShareLink.id)
        if not rows:
            raise NotFound("share link not found", code="share_not_found")

    async def open_share(self, token: str) -> tuple[str, str, str]:
        """``(storage key, file name, content type)`` behind a public token; 403 tampered, 410 gone."""
        try:
            claims = auth.read_token(self.settings.secret_key, token)
        except Unauthorized as exc:
            if exc.code == "token_expired":
                raise Gone("this share link has expired", code="share_expired") from None
            raise Forbidden("this share link is not valid", code="share_invalid") from None
        if claims.kind != "share":
            raise Forbidden("this share link is not valid", code="share_invalid")
        row = await ShareLink.select().where(ShareLink.id == _uuid(claims.subject, "share")).first()
        if row is None:
            raise Forbidden("this share link is not valid", code="share_invalid")
        if row["revoked"]:
            raise Gone("this share link was revoked by its owner", code="share_revoked")
        if row["expires_at"] < timeutil.now():
            raise Gone("this share link has expired", code="share_expired")
        out = await JobOutput.select().where((JobOutput.job == row["job"]) & (JobOutput.name == row["output"])
                                             ).first()
        if out is None:
            raise Gone("the shared file no longer exists", code="share_gone")
        return out["file_path"], out["filename"], out["content_type"]

    @staticmethod
    def _output_dict(job_id: str, o: dict) -> dict:
        return {"name": o["name"], "kind": o["kind"], "filename": o["filename"],
                "content_type": o["content_type"], "size_bytes": o["size_bytes"], "sha256": o["sha256"],
                "url": f"/api/v1/jobs/{job_id}/outputs/{o['name']}"}

    def _job_dict(self, row: dict) -> dict:
        job_id = str(row["id"])
        result = row.get("result")
        if isinstance(result, str):
            import json

            result = json.loads(result)
        if result:
            result = {**result, "outputs": [
                {**o, "url": f"/api/v1/jobs/{job_id}/outputs/{o['name']}"} for o in result.get("outputs", [])]}
        error = {"code": row["error_code"], "message": row["error"]} if row.get("error_code") else None
        return {
            "id": job_id, "capability": row["job_type"], "status": row["status"],
            "progress": float(row["progress"] or 0.0), "message": row.get("message"),
            "params": row.get("params") or {}, "inputs": row.get("inputs") or {},
            "result": result, "backend": row.get("backend"), "error": error,
            "attempts": row.get("attempts", 0), "worker": row.get("worker"),
            "depends_on": str(row["depends_on"]) if row.get("depends_on") else None,
            "cache_hit": bool(row.get("cache_hit")),
            "reused_from": str(row["reused_from"]) if row.get("reused_from") else None,
            "created_at": timeutil.iso(row.get("created_at")), "started_at": timeutil.iso(row.get("started_at")),
            "finished_at": timeutil.iso(row.get("finished_at")),
        }


def jwt_encode_media(secret: str, key: str, filename: str, content_type: str, ttl_s: float) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode({"kind": "media", "key": key, "name": filename, "type": content_type, "iat": now,
                       "exp": now + int(ttl_s), "sub": "media"}, secret, algorithm=auth.ALGORITHM)


def jwt_decode_media(secret: str, token: str) -> dict:
    import jwt

    try:
        claims = jwt.decode(token, secret, algorithms=[auth.ALGORITHM], options={"require": ["exp", "key"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("expired", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid", code="token_invalid") from None
    if claims.get("kind") != "media":
        raise Unauthorized("invalid", code="token_invalid")
    return claims


def result_cache_key(capability: str, version: str, params: Any, content: dict[str, str],
                     texts: dict[str, str]) -> str:
    """Hash of everything that determines a capability's outputs."""
    import hashlib
    import json

    blob = json.dumps({"c": capability, "v": version, "p": params, "in": content, "t": texts},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _safe_filename(name: str | None, fmt: str) -> str:
    base = Path((name or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")[:200]
    return base or f"upload.{fmt}"
