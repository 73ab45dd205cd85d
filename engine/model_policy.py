"""The ``model_download`` setting: when a missing model may be fetched in the middle of work.

- ``never``: nothing is downloaded outside ``moodmix models pull``;
- ``ask`` (default): only where someone can answer, i.e. ``moodmix run`` in an interactive
  terminal, which installs a prompt with :func:`set_prompt`; servers and workers never ask,
  so there it means ``never``;
- ``auto``: download when needed, workers included, except weights under a non-commercial
  licence, which someone must accept once with ``moodmix models pull --accept-licence``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodmix.engine.models import ModelSpec, installed_folder, model_root

if TYPE_CHECKING:
    from moodmix.engine.model_hub import PullProgress

POLICIES = ("never", "ask", "auto")
log = logging.getLogger(__name__)

#: Asks a person whether to download (and, for a non-commercial licence, to accept it).
Prompt = Callable[[ModelSpec], bool]
_prompt: Prompt | None = None
_progress: PullProgress | None = None


def set_prompt(prompt: Prompt | None, progress: PullProgress | None = None) -> None:
    """Install (or remove) the interactive question and its download display; only an interactive
    front end does this."""
    global _prompt, _progress
    _prompt, _progress = prompt, progress


def may_fetch(spec: ModelSpec, settings: Any) -> bool:
    """Whether this process could download ``spec`` now, without asking yet."""
    policy = getattr(settings, "model_download", "never")
    if policy == "auto":
        return not spec.non_commercial
    return policy == "ask" and _prompt is not None


def fetch_if_allowed(spec: ModelSpec, settings: Any) -> Path | None:
    """Pull ``spec`` when the policy allows it here (asking if it says ask); its folder, or ``None``.

    A failed download is logged and answered with ``None``: the caller falls back as
    it would without weights, and says why.
    """
    from moodmix.engine.model_hub import HubError, pull

    root = model_root(settings)
    found = installed_folder(spec, root)
    if found is not None or not may_fetch(spec, settings):
        return found
    if getattr(settings, "model_download", "") == "ask" and (_prompt is None or not _prompt(spec)):
        return None
    try:
        return pull(spec, root, _progress)
    except HubError as exc:
        log.warning("could not download %s: %s", spec.name, exc.message)
        return None


def pull_command(spec: ModelSpec) -> str:
    """The command that installs ``spec`` (named in errors and doctor lines)."""
    flag = " --accept-licence" if spec.non_commercial else ""
    return f"moodmix models pull {spec.name}{flag}"
