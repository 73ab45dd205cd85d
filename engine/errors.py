"""Errors that carry a machine-readable code and an HTTP status.

Every layer (CLI, API, worker, bots) turns these into a one-line reason; anything
else reaching a front end is a bug.
"""

from __future__ import annotations


class MoodmixError(Exception):
    """Base error: ``code`` is stable for clients, ``message`` is for humans."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}


class BadInput(MoodmixError):
    """The request or parameters are wrong (HTTP 400/422)."""

    code = "bad_input"
    status = 422


class AudioError(MoodmixError):
    """Audio in a format we read whose content is broken or unusable (corrupt, empty, NaN…): 422.

    The rule, kept by every decode path: 415 only when the type itself is not one moodmix reads
    (:class:`UnsupportedAudio`), 422 when the type is supported but its content is not usable,
    413 when it breaks a size or length limit (:class:`TooLarge`).
    """

    code = "bad_audio"
    status = 422


class UnsupportedAudio(AudioError):
    """Not a container/codec moodmix reads (or one smuggled inside another): 415."""

    code = "unsupported_format"
    status = 415


class TooLarge(AudioError):
    code = "too_large"
    status = 413


class NotFound(MoodmixError):
    code = "not_found"
    status = 404


class Unauthorized(MoodmixError):
    code = "unauthorized"
    status = 401


class Forbidden(MoodmixError):
    code = "forbidden"
    status = 403


class Gone(MoodmixError):
    code = "gone"
    status = 410


class Conflict(MoodmixError):
    code = "conflict"
    status = 409


class MissingTool(MoodmixError):
    """An external program (e.g. ffmpeg) is needed and absent."""

    code = "missing_tool"
    status = 415


class JobCancelled(MoodmixError):
    """Raised inside a running capability when the job was cancelled."""

    code = "cancelled"
    status = 409


class JobTimedOut(MoodmixError):
    """Raised inside a running capability once the job's time limit has passed."""

    code = "timeout"
    status = 408


class CapabilityFailed(MoodmixError):
    """A capability could not produce its result; the message says why."""

    code = "capability_failed"
    status = 422
