"""Pull a :class:`ModelSpec` from the Hugging Face hub with ``huggingface_hub``.

The client honours ``HF_ENDPOINT`` (a mirror, or the tests' loopback hub), ``HF_TOKEN``
and ``HF_HUB_OFFLINE``, resumes a transfer cut mid-file with a ``Range`` request, and
checks each file's size. It does not check content, so we do: every file's sha256 (or,
for small files kept in git, its git blob id) must match what the hub's API published
for the pinned commit, or the pull fails and the bad file is not kept.

Files land in ``<root>/.downloads/<name>/`` and the finished folder is renamed to
``<root>/<name>/`` only when every file checked out, so a loader never sees half a model
and a failed pull leaves nothing in the model folder.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from moodmix.engine.errors import MoodmixError
from moodmix.engine.models import (
    ModelSpec,
    check_file,
    install_dir,
    installed_folder,
    read_manifest,
    write_manifest,
)


class HubError(MoodmixError):
    """The hub could not be reached or refused the request (one line, for people)."""

    code = "model_download_failed"
    status = 502


class PullProgress(Protocol):
    """What a front end implements to show a download: one bar per file."""

    def start(self, filename: str, total: int | None, initial: int) -> None: ...

    def advance(self, filename: str, nbytes: int) -> None: ...


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int | None
    sha256: str | None  # LFS files: the content's sha256
    git_sha1: str | None  # files kept in git: the blob id

    def meta(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256, "git_sha1": None if self.sha256 else self.git_sha1}


def staging_dir(spec: ModelSpec, root: Path) -> Path:
    return Path(root) / ".downloads" / spec.name


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 240 else text[:237] + "…"


def endpoint() -> str | None:
    """``HF_ENDPOINT`` as it is now (huggingface_hub reads it once, at import)."""
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or None


def remote_files(spec: ModelSpec) -> tuple[str, list[RemoteFile]]:
    """The pinned commit of ``spec.revision`` and the files ``spec.files`` selects, with their hashes."""
    from huggingface_hub import HfApi

    try:
        info = HfApi(endpoint=endpoint()).model_info(spec.repo_id, revision=spec.revision, files_metadata=True)
    except Exception as exc:  # connection refused, DNS, 404, offline mode: all one line for people
        raise HubError(f"cannot reach the model hub for {spec.repo_id}: {_one_line(exc)}") from None
    chosen: list[RemoteFile] = []
    for sib in info.siblings or []:
        if any(fnmatch.fnmatchcase(sib.rfilename, pattern) for pattern in (*spec.files, *spec.optional_files)):
            chosen.append(RemoteFile(sib.rfilename, sib.size, sib.lfs.sha256 if sib.lfs else None, sib.blob_id))
    missing = [p for p in spec.files if not any(fnmatch.fnmatchcase(f.path, p) for f in chosen)]
    if missing:
        raise HubError(f"{spec.repo_id}@{spec.revision} has no file matching {', '.join(missing)}")
    if not info.sha:
        raise HubError(f"{spec.repo_id}@{spec.revision}: the hub did not say which commit it is")
    return info.sha, chosen


def _bar_class(progress: PullProgress | None, filename: str) -> type | None:
    """A stand-in for tqdm that forwards huggingface_hub's byte counts to ``progress``."""
    if progress is None:
        return None

    class Bar:
        def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any) -> None:
            progress.start(filename, total, initial)

        def update(self, n: int = 1) -> None:
            progress.advance(filename, n)

        def close(self) -> None:
            return None

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

    return Bar


def pull(spec: ModelSpec, root: Path, progress: PullProgress | None = None,
         on_start: Callable[[list[RemoteFile]], None] | None = None) -> Path:
    """Download ``spec`` into ``<root>/<name>/`` (a no-op when an intact copy is there). Raises :class:`HubError`."""
    from huggingface_hub import hf_hub_download

    root = Path(root)
    final = install_dir(spec, root)
    if installed_folder(spec, root) is not None and not _damaged(final):
        return final
    commit, files = remote_files(spec)
    if on_start is not None:
        on_start(files)
    stage = staging_dir(spec, root)
    stage.mkdir(parents=True, exist_ok=True)
    if final.exists():  # a damaged or partial copy: keep what still checks out, fetch the rest
        _salvage(final, stage, {f.path: f.meta() for f in files})
    try:
        for remote in files:
            target = stage / remote.path
            if target.is_file() and check_file(target, remote.meta()) is None:
                continue
            target.unlink(missing_ok=True)
            try:
                hf_hub_download(spec.repo_id, remote.path, revision=commit, local_dir=stage, endpoint=endpoint(),
                                tqdm_class=_bar_class(progress, remote.path))  # type: ignore[arg-type]
            except Exception as exc:
                raise HubError(f"downloading {spec.repo_id}/{remote.path} failed: {_one_line(exc)}") from None
            problem = check_file(target, remote.meta())
            if problem is not None:
                target.unlink(missing_ok=True)
                raise HubError(f"{spec.repo_id}/{problem}; the file was discarded, run the pull again")
        write_manifest(stage, spec, commit, {f.path: f.meta() for f in files})
        shutil.rmtree(stage / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping, not the model
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage, final)
    finally:
        _tidy(root, stage)
    return final


def _damaged(folder: Path) -> bool:
    manifest = read_manifest(folder) or {"files": {}}
    return any(check_file(folder / f, meta) for f, meta in manifest["files"].items())


def _salvage(final: Path, stage: Path, wanted: dict[str, dict[str, Any]]) -> None:
    """Move the files of a damaged install that still match into the staging folder, drop the rest."""
    for name, meta in wanted.items():
        src = final / name
        if src.is_file() and check_file(src, meta) is None:
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, stage / name)
    shutil.rmtree(final)


def _tidy(root: Path, stage: Path) -> None:
    """After a failure, keep only whole, checked files in the staging folder (the next pull reuses them)."""
    if stage.exists():
        shutil.rmtree(stage / ".cache", ignore_errors=True)
        for path in sorted(stage.rglob("*"), reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for folder in (stage, stage.parent):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
