"""``moodmix run``: one capability on local files, with a progress bar, writing result.json."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from moodmix.engine.config import Settings
from moodmix.engine.errors import BadInput
from moodmix.engine.execution import run_capability
from moodmix.engine.jobs.runner import _jsonable, content_type_for
from moodmix.engine.plugin_manager import get_plugin_manager
from moodmix.engine.registry import Registry


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_local_command(settings: Settings, capability: str, *, file: str | None, params: dict[str, Any],
                      extra_inputs: dict[str, str], prompt: str | None, out_dir: Path,
                      show_progress: bool = True, registry: Registry | None = None) -> dict:
    """Run and write outputs + ``result.json``; returns the result document (same shape as the API's)."""
    pm = get_plugin_manager()
    pm.hook.startup(settings=settings)
    reg = registry or Registry.from_plugin_manager(pm)
    cap = reg.capability(capability)
    inputs: dict[str, Path] = {}
    texts: dict[str, str] = {}
    audio_specs = [i for i in cap.inputs if i.kind == "audio"]
    text_specs = [i for i in cap.inputs if i.kind == "text"]
    if file:
        if not audio_specs:
            raise BadInput(f"{capability!r} takes no audio file (inputs: "
                           f"{', '.join(i.name for i in cap.inputs) or 'none'})", code="bad_input")
        inputs[audio_specs[0].name] = Path(file)
    if prompt is not None:
        if not text_specs:
            raise BadInput(f"{capability!r} takes no prompt", code="bad_input")
        texts[text_specs[0].name] = prompt
    kinds = {i.name: i.kind for i in cap.inputs}
    fields = set(getattr(cap.params, "__struct_fields__", ()))
    for name in [k for k in params if kinds.get(k) == "text" and k not in fields]:
        texts.setdefault(name, str(params.pop(name)))  # `--param prompt=...` reads naturally too
    for name, value in extra_inputs.items():
        if name not in kinds:
            raise BadInput(f"{capability!r} has no input {name!r}", code="bad_input_name")
        if kinds[name] == "audio":
            inputs[name] = Path(value)
        else:
            texts[name] = value
    for name, path in inputs.items():
        if not path.is_file():
            raise BadInput(f"input {name!r}: no such file {path}", code="file_not_found")
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="moodmix-run-"))
    try:
        with _progress_bar(capability, show_progress) as report:
            result = run_capability(reg, capability, inputs=inputs, texts=texts, params=params,
                                    output_dir=work / "out", settings=settings, progress=report,
                                    time_limit_s=None, temp_root=work / "tmp")
        kinds_out = {o.name: o.kind for o in cap.outputs}
        outputs = []
        for name, path in result.files.items():
            path = Path(path)
            filename = f"{name}{path.suffix}"
            dest = out_dir / filename
            shutil.move(str(path), dest)
            outputs.append({"name": name, "kind": kinds_out.get(name, "other"), "filename": filename,
                            "content_type": content_type_for(dest), "size_bytes": dest.stat().st_size,
                            "sha256": _sha256(dest)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    doc = {"job_id": None, "capability": capability, "backend": result.backend,
           "params": msgspec.to_builtins(cap.parse_params(params)),
           "data": _jsonable(result.data), "summary": cap.summary_of(result.data), "outputs": outputs}
    (out_dir / "result.json").write_text(json.dumps(doc, indent=2))
    return doc


class _progress_bar:
    """A rich progress bar fed by the capability's own progress reports."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled

    def __enter__(self):
        if not self.enabled:
            return lambda fraction, message=None: None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[note]}"), transient=False)
        self.progress.start()
        task = self.progress.add_task(self.label, total=100, note="")

        def report(fraction: float, message: str | None = None) -> None:
            self.progress.update(task, completed=fraction * 100, note=message or "")

        return report

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.progress.stop()
