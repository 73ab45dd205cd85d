"""``moodmix run``: one capability on local files, with a progress bar, writing result.json."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from moodmix.engine.config import Settings

if TYPE_CHECKING:
    from moodmix.engine.registry import Registry


def run_local_command(settings: Settings, capability: str, *, file: str | None, params: dict[str, Any],
                      extra_inputs: dict[str, str], prompt: str | None, out_dir: Path,
                      show_progress: bool = True, registry: Registry | None = None) -> dict:
    """Run and write outputs + ``result.json``; returns the result document (same shape as the API's)."""
    with _progress_bar(capability, show_progress) as report:
        report(0.0, "loading")  # on screen at once; the engine, plugins and their libraries load behind it
        from moodmix.engine.execution import execute, parse_params, probe_local
        from moodmix.engine.inputs import bind_inputs
        from moodmix.engine.outputs import jsonable, record_outputs
        from moodmix.engine.plugin_manager import get_plugin_manager
        from moodmix.engine.registry import Registry

        pm = get_plugin_manager()
        pm.hook.startup(settings=settings)
        reg = registry or Registry.from_plugin_manager(pm, settings)
        cap = reg.capability(capability)
        params = dict(params)
        fields = set(getattr(cap.params, "__struct_fields__", ()))
        given: dict[str, Any] = {i.name: str(params.pop(i.name)) for i in cap.text_inputs
                                 if i.name in params and i.name not in fields}  # `--param prompt=...` reads naturally
        given.update(extra_inputs)
        bound = bind_inputs(cap, given, audio=file, prompt=prompt)
        inputs = {name: Path(value) for name, value in bound.audio.items()}
        probe_local(inputs, settings.max_audio_seconds)
        parsed = parse_params(cap, params, reg)
        out_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="moodmix-run-"))
        try:
            result = execute(cap, parsed, registry=reg, inputs=inputs, texts=bound.texts, output_dir=work / "out",
                             settings=settings, progress=report, time_limit_s=None, temp_root=work / "tmp")
            outputs = []
            for record, path in record_outputs(cap, result.files):
                shutil.move(str(path), out_dir / record.filename)
                outputs.append(record.as_dict())
        finally:
            shutil.rmtree(work, ignore_errors=True)
    doc = {"job_id": None, "capability": capability, "backend": result.backend,
           "params": msgspec.to_builtins(parsed),
           "data": jsonable(result.data), "summary": cap.summary_of(result.data), "outputs": outputs}
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

    def __exit__(self, exc_type, *exc) -> None:
        if self.enabled:
            if exc_type is not None:  # the error is what the user needs to see, not a bar stuck at "loading"
                self.progress.live.transient = True
            self.progress.stop()
