"""``moodmix doctor``: what this machine will use, and why it fell back when it did."""

from __future__ import annotations

import os
from pathlib import Path

import pluggy

from moodmix.engine.audio_io import ffmpeg_path
from moodmix.engine.capability import DoctorCheck
from moodmix.engine.config import Settings


def report(settings: Settings) -> list[str]:
    lines = []
    try:
        import torch

        cuda = torch.cuda.is_available()
        gpu = f"available: {torch.cuda.get_device_name(0)}" if cuda else "not available"
        lines.append(f"torch {torch.__version__}; CUDA {gpu}")
    except Exception as exc:
        cuda = False
        lines.append(f"torch not importable: {exc}")
    device = settings.resolved_device
    why = "configured" if settings.device != "auto" else ("GPU found" if cuda else "no GPU found")
    lines.append(f"device: {device} ({why})")
    lines.append(f"ffmpeg: {ffmpeg_path() or 'missing (m4a/aac uploads will be refused)'}")
    lines.append(f"data folder: {settings.data_path}")
    lines.append(f"database: {settings.effective_database_url.split('@')[-1]}")
    lines.append(f"queue: {'redis ' + settings.redis_url.split('@')[-1] if settings.redis_url else 'in-process'}")
    model_dir = settings.model_dir or "(none)"
    missing = settings.model_dir and not Path(model_dir).is_dir()
    lines.append(f"model folder: {model_dir}{' — missing!' if missing else ''}")
    lines.append(f"HF hub offline: {os.environ.get('HF_HUB_OFFLINE', '0')}")
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.engine.registry import Registry

    pm = build_plugin_manager(settings)
    reg = Registry.from_plugin_manager(pm, settings)
    for name, cap in sorted(reg.capabilities.items()):
        lines.append(f"capability {name} v{cap.version} from {reg.owners[name]}")
    lines += [format_check(check) for check in plugin_checks(pm, settings)]
    return lines


def plugin_checks(pm: pluggy.PluginManager, settings: Settings) -> list[DoctorCheck]:
    """Every plugin's ``doctor_checks`` lines; a plugin whose check raises gets a line saying so."""
    checks: list[DoctorCheck] = []
    for impl in pm.hook.doctor_checks.get_hookimpls():
        try:
            checks += list(impl.function(**{n: settings for n in impl.argnames}) or [])
        except Exception as exc:
            checks.append(DoctorCheck(impl.plugin_name, False, f"its doctor check failed: {exc}"))
    return checks


def format_check(check: DoctorCheck) -> str:
    """``ok name: detail`` or ``!! name: detail``, with the hint on an indented line below."""
    line = f"{'ok' if check.ok else '!!'} {check.name}: {check.detail}"
    return f"{line}\n   hint: {check.hint}" if check.hint else line
