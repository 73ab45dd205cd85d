"""Choosing what to send back for a finished job: a short summary, files that fit, links for the rest.

Platform code only posts what :func:`prepare_delivery` decided, so both bots answer alike.
"""

from __future__ import annotations

import asyncio
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from moodmix.bots.backend import BotBackend, ChatRef
from moodmix.bots.catalog import Catalog
from moodmix.bots.transcode import fit_audio_async
from moodmix.engine.errors import MoodmixError
from moodmix.web.links import output_path

FileKind = Literal["audio", "image", "document"]
SHARE_DAYS = 7


@dataclass(frozen=True)
class OutgoingFile:
    path: Path
    filename: str
    kind: FileKind
    title: str


@dataclass
class Delivery:
    """The answer to post: ``text`` first, then ``files``; ``links`` for outputs too big for chat."""

    text: str
    files: list[OutgoingFile] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    def batches(self, max_total_bytes: int, max_files: int = 10) -> list[list[OutgoingFile]]:
        """The files in groups that each fit one request (count and total size), in order."""
        groups: list[list[OutgoingFile]] = []
        size = 0
        for item in self.files:
            item_size = item.path.stat().st_size
            if not groups or len(groups[-1]) >= max_files or size + item_size > max_total_bytes:
                groups.append([])
                size = 0
            groups[-1].append(item)
            size += item_size
        return groups

    def full_text(self) -> str:
        lines = [self.text]
        if self.links:
            lines.append(f"Too large for this chat — download here (links work for {SHARE_DAYS} days):")
            lines += [f"• {label}: {url}" for label, url in self.links]
        return "\n".join(lines)


def summarize(job: dict) -> str:
    """The job's title and the capability's one line about its result (``Capability.summarize``)."""
    title = f"✅ {job.get('capability', 'job')} finished"
    line = Catalog.summary(job)
    return f"{title}: {line}" if line else title


def output_url(public_url: str, job: dict, output: dict) -> str:
    """The API address of an output (needs signing in): the fallback when no share link can be made."""
    return public_url.rstrip("/") + output_path(job["id"], output["name"])


async def download_link(backend: BotBackend, chat: ChatRef, job: dict, output: dict, public_url: str) -> str:
    """A share link anyone with it can open for a while; else the signed-in API address."""
    try:
        return await backend.share_output(chat, job["id"], output["name"], SHARE_DAYS * 86400)
    except MoodmixError:
        return output_url(public_url, job, output)


async def all_links(backend: BotBackend, chat: ChatRef, job: dict, public_url: str) -> list[tuple[str, str]]:
    """A download link for every file output: the answer when sending the files failed."""
    outputs = (job.get("result") or {}).get("outputs") or []
    return [(out["name"], await download_link(backend, chat, job, out, public_url))
            for out in outputs if out.get("kind") != "json"]


def links_text(summary: str, links: list[tuple[str, str]]) -> str:
    """The summary and one download line per output (links work for :data:`SHARE_DAYS` days)."""
    lines = [summary, f"Download here (links work for {SHARE_DAYS} days):"]
    return "\n".join(lines + [f"• {label}: {url}" for label, url in links])


def _zip(paths: list[tuple[Path, str]], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, arcname in paths:
            zf.write(path, arcname)
    return target


async def _bundle(files: list[OutgoingFile], limit: int, workdir: Path, name: str) -> OutgoingFile | None:
    """All audio in one zip; re-encoded smaller when the plain zip is over ``limit``."""
    target = workdir / f"{name}.zip"
    await asyncio.to_thread(_zip, [(f.path, f.filename) for f in files], target)
    if target.stat().st_size > limit:
        share = max(1, (limit - 64 * 1024) // len(files))
        smaller = []
        for f in files:
            fitted = await fit_audio_async(f.path, share, workdir / "bundle" / f.title, keep_formats=())
            if fitted is None:
                return None
            smaller.append((fitted, Path(f.filename).with_suffix(".mp3").name))
        await asyncio.to_thread(_zip, smaller, target)
        if target.stat().st_size > limit:
            return None
    return OutgoingFile(target, target.name, "document", name)


async def prepare_delivery(backend: BotBackend, chat: ChatRef, job: dict, workdir: Path, *,
                           limit_bytes: int, public_url: str,
                           audio_formats: tuple[str, ...] = ("mp3", "wav", "flac", "ogg", "m4a"),
                           bundle_audio: bool = False, max_files: int = 10) -> Delivery:
    """Fetch the job's outputs and decide, per output, attach / transcode / bundle / link."""
    delivery = Delivery(text=summarize(job))
    outputs = (job.get("result") or {}).get("outputs") or []
    audio: list[tuple[dict, OutgoingFile]] = []
    for out in outputs:
        kind = out.get("kind")
        if kind == "json":
            continue  # already summarised from the result data
        try:
            fetched = await backend.fetch_output(chat, job["id"], out["name"], workdir / "fetched")
        except MoodmixError:
            delivery.links.append((out["name"], await download_link(backend, chat, job, out, public_url)))
            continue
        if kind == "audio":
            audio.append((out, OutgoingFile(fetched.path, fetched.filename, "audio", out["name"])))
        elif fetched.path.stat().st_size <= limit_bytes:
            delivery.files.append(OutgoingFile(fetched.path, fetched.filename,
                                               "image" if kind == "image" else "document", out["name"]))
        else:
            delivery.links.append((out["name"], await download_link(backend, chat, job, out, public_url)))
    room = max_files - len(delivery.files)
    if audio and (bundle_audio or len(audio) > room):
        bundle = await _bundle([f for _, f in audio], limit_bytes, workdir, f"{job['capability']}-{job['id'][:8]}")
        if bundle is not None:
            delivery.files.append(bundle)
            return delivery
    for out, original in audio:
        fitted = await fit_audio_async(original.path, limit_bytes, workdir / "fit" / out["name"],
                                       keep_formats=audio_formats)
        if fitted is None or len(delivery.files) >= max_files:
            delivery.links.append((out["name"], await download_link(backend, chat, job, out, public_url)))
            continue
        name = original.filename if fitted == original.path else f"{Path(original.filename).stem}.mp3"
        delivery.files.append(OutgoingFile(fitted, name, "audio", original.title))
    return delivery
