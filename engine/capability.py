"""What a capability plugin declares, and what its ``run`` receives and returns.

A capability is plain data (:class:`Capability`) plus one function
``run(ctx: RunContext) -> RunResult``. Plugins read their inputs with
``ctx.load_audio`` (or the paths in ``ctx.inputs``) and write outputs with
``ctx.save_audio`` / ``ctx.output_path``; storage, database and queues are the
engine's business. Everything a plugin author needs is in this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from moodmix.engine.errors import BadInput, JobCancelled, JobTimedOut

InputKind = Literal["audio", "text"]
OutputKind = Literal["audio", "image", "json", "archive", "other"]


@dataclass(frozen=True)
class InputSpec:
    """One input of a capability.

    ``kind="audio"`` inputs are given as an uploaded file id or another job's output
    and reach ``run`` as a decoded-and-validated local file path in ``ctx.inputs``;
    ``kind="text"`` inputs (a prompt) reach it as a string in ``ctx.texts``.
    """

    name: str
    kind: InputKind
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class OutputSpec:
    """One named output file a capability may produce (``name`` is the key in ``RunResult.files``)."""

    name: str
    kind: OutputKind
    description: str = ""
    optional: bool = False


class NoParams(msgspec.Struct, forbid_unknown_fields=True):
    """Parameter struct for capabilities that take none."""


@dataclass(frozen=True)
class Resources:
    """What one run needs, so jobs can be routed to a worker pool that has it.

    ``device``: ``"cpu"``, ``"gpu"`` (useless without one) or ``"any"`` (faster on a GPU).
    ``gpu_for(params)`` says whether a run with these parameters would use the GPU (stems with
    demucs does, with dsp it does not); without it, ``device == "gpu"`` decides.
    ``short``: typically done in seconds (analysis, previews): scheduled ahead of long jobs.
    """

    device: Literal["cpu", "gpu", "any"] = "cpu"
    memory_mb: int = 1024
    gpu_for: Callable[[Any], bool] | None = None
    short: bool = False

    def wants_gpu(self, params: Any) -> bool:
        if self.gpu_for is not None:
            return bool(self.gpu_for(params))
        return self.device == "gpu"

    def describe(self) -> dict[str, Any]:
        return {"device": self.device, "memory_mb": self.memory_mb, "short": self.short}


def _data_summary(data: dict[str, Any]) -> str | None:
    summary = data.get("summary") if isinstance(data, dict) else None
    return summary if isinstance(summary, str) else None


@dataclass(frozen=True)
class Capability:
    """A capability descriptor returned from the ``register_capabilities`` hook.

    Front ends (page, bots, CLI) know capabilities only through these fields: they never
    name one. ``on_upload`` runs it on every new upload (the page shows its summary beside
    the waveform); ``genre_params`` maps a parameter to the genre set it chooses from (the
    page and bots offer exactly that set); ``advanced`` parameters sit behind a fold;
    ``summarize(result_data)`` is the one line the bots and page show for a result.
    """

    name: str
    description: str
    run: Callable[[RunContext], RunResult]
    params: type[msgspec.Struct] = NoParams
    inputs: tuple[InputSpec, ...] = (InputSpec("audio", "audio", "The track to process."),)
    outputs: tuple[OutputSpec, ...] = ()
    version: str = "1"
    #: Whether identical inputs + parameters give identical outputs, so a finished job's outputs can be
    #: reused. A callable receives the validated parameters (e.g. not cacheable when no seed is given).
    cacheable: bool | Callable[[Any], bool] = True
    #: Optional up-front check ``check(params, registry)`` run when a job is requested, before it is
    #: queued: raise :class:`BadInput` for problems that need the registry (e.g. an unknown genre).
    check: Callable[[Any, Any], None] | None = None
    #: Free-form hints for front ends (e.g. ``{"icon": "stems"}``); never required.
    ui: dict[str, Any] = field(default_factory=dict)
    #: Run automatically on every upload (e.g. an analysis shown beside the waveform).
    on_upload: bool = False
    #: Parameter name -> genre set (``Genre.set``) whose names it accepts.
    genre_params: dict[str, str] = field(default_factory=dict)
    #: Parameters for experts: shown behind an "Advanced" fold, never asked for by the bots.
    advanced: tuple[str, ...] = ()
    #: One line for people from a result's ``data`` (default: its ``"summary"`` entry, if any).
    summarize: Callable[[dict[str, Any]], str | None] = _data_summary
    #: What a run needs (device, memory, short or long), for routing and scheduling.
    resources: Resources = field(default_factory=Resources)

    @property
    def audio_inputs(self) -> tuple[InputSpec, ...]:
        return tuple(i for i in self.inputs if i.kind == "audio")

    @property
    def text_inputs(self) -> tuple[InputSpec, ...]:
        return tuple(i for i in self.inputs if i.kind == "text")

    def parse_params(self, raw: dict[str, Any] | None) -> msgspec.Struct:
        """Validate ``raw`` into the parameter struct (strings are coerced, as the CLI sends them)."""
        try:
            return msgspec.convert(raw or {}, type=self.params, strict=False)
        except msgspec.ValidationError as exc:
            raise BadInput(f"invalid parameters for {self.name!r}: {exc}", code="bad_params") from exc

    def is_cacheable(self, params: Any) -> bool:
        return bool(self.cacheable(params)) if callable(self.cacheable) else bool(self.cacheable)

    def params_schema(self) -> dict[str, Any]:
        """The parameter struct as JSON schema (inlined, so a client needs no ``$ref`` resolver)."""
        return struct_schema(self.params)

    def describe(self) -> dict[str, Any]:
        """Public description used by the API, CLI, bots and web page."""
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "inputs": [
                {"name": i.name, "kind": i.kind, "description": i.description, "required": i.required}
                for i in self.inputs
            ],
            "outputs": [
                {"name": o.name, "kind": o.kind, "description": o.description, "optional": o.optional}
                for o in self.outputs
            ],
            "params_schema": self.params_schema(),
            "ui": dict(self.ui),
            "on_upload": self.on_upload,
            "genre_params": dict(self.genre_params),
            "advanced": list(self.advanced),
            "resources": self.resources.describe(),
        }

    def summary_of(self, data: dict[str, Any] | None) -> str | None:
        """The one-line summary of a result, never raising (a bad summariser must not lose a result)."""
        try:
            return self.summarize(data or {})
        except Exception:
            return None


def struct_schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """JSON schema of a msgspec struct with its ``$defs`` resolved inline."""
    schema = msgspec.json.schema(struct)
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.rsplit("/", 1)[1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


@dataclass
class RunResult:
    """What ``run`` returns.

    ``files`` maps output names to files inside ``ctx.output_dir``; ``data`` is
    JSON-serialisable and becomes the job's ``result``; ``backend`` records which
    implementation produced it (e.g. ``"demucs"`` or ``"dsp"``).
    """

    data: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    backend: str | None = None


ProgressFn = Callable[[float, str | None], None]


def _no_progress(fraction: float, message: str | None = None) -> None:
    return None


@dataclass
class RunContext:
    """Everything ``run`` receives. Plugins take what they need and ignore the rest."""

    params: Any
    output_dir: Path
    temp_dir: Path
    inputs: dict[str, Path] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    progress_fn: ProgressFn = _no_progress
    cancelled_fn: Callable[[], bool] = lambda: False
    deadline: float | None = None  # time.monotonic() value
    device: str = "cpu"
    settings: Any = None
    #: Runs another capability in-process (``ctx.call("stems", inputs=..., params=...)``).
    call_fn: Callable[..., RunResult] | None = None
    job_id: str | None = None
    #: Every registered capability and genre (so a plugin can look up genres other plugins add).
    registry: Any = None
    #: This plugin's settings struct (from ``register_settings``), or ``None`` if it declares none.
    plugin_settings: Any = None
    #: Input name → the name people know the file by (the upload's file name), where it differs from
    #: the path's: stored inputs are named by content hash. Use :meth:`input_name` to read it.
    input_names: dict[str, str] = field(default_factory=dict)
    #: Decoded inputs by (path, sample rate, mono), shared with nested calls: one run decodes a file once.
    _decoded: dict[tuple[str, int | None, bool], tuple[Any, int]] = field(default_factory=dict, repr=False)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report real progress (0..1) and give the engine a chance to stop us."""
        self.check()
        self.progress_fn(min(1.0, max(0.0, float(fraction))), message)

    def check(self) -> None:
        """Raise :class:`JobCancelled`/:class:`JobTimedOut` when the job should stop now."""
        if self.cancelled_fn():
            raise JobCancelled("the job was cancelled")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut("the job ran past its time limit")

    def load_audio(self, name: str = "audio", *, sample_rate: int | None = None,
                   mono: bool = False) -> tuple[Any, int]:
        """Input ``name`` decoded as ``float32 (channels, frames)`` and its rate (resampled if asked).

        Decoded once per run and argument set, nested calls on the same file included; treat the
        array as read-only.
        """
        if name not in self.inputs:
            raise BadInput(f"no audio input named {name!r}", code="missing_input")
        key = (str(self.inputs[name]), sample_rate, mono)
        if key not in self._decoded:
            from moodmix.engine import audio_io

            self._decoded[key] = audio_io.load_audio(self.inputs[name], sample_rate=sample_rate, mono=mono)
        return self._decoded[key]

    def release_audio(self, source: str | Path = "audio") -> None:
        """Forget every decode of input ``source`` (or of the file ``source``, one handed to a nested
        call), nested calls' included: a run that goes on in files frees the track, a loop of nested
        calls does not pile up its pieces; a later :meth:`load_audio` decodes again."""
        path = str(self.inputs[source]) if isinstance(source, str) and source in self.inputs else str(source)
        for key in [k for k in self._decoded if k[0] == path]:
            del self._decoded[key]

    def input_name(self, name: str = "audio") -> str:
        """Input ``name``'s file name as its owner knows it (to title pictures, name files), not the storage's."""
        if name in self.input_names:
            return self.input_names[name]
        return self.inputs[name].name if name in self.inputs else name

    def save_audio(self, name: str, audio: Any, sample_rate: int, *, format: str = "wav",
                   **options: Any) -> Path:
        """Write output ``name`` (``float32 (channels, frames)``) as ``format``; returns its path."""
        from moodmix.engine import audio_io

        return audio_io.save_audio(self.output_path(name, f".{format}"), audio, sample_rate, format=format,
                                   **options)

    def open_audio(self, name: str, sample_rate: int, channels: int, *, format: str = "wav",
                   **options: Any) -> Any:
        """An :class:`~moodmix.engine.audio_io.AudioWriter` for output ``name``: ``write`` blocks of
        ``float32 (channels, frames)`` as they are finished (long outputs never sit in memory whole),
        then ``close`` (or use ``with``); ``.path`` is the file."""
        from moodmix.engine import audio_io

        return audio_io.AudioWriter(self.output_path(name, f".{format}"), sample_rate, channels, format=format,
                                    **options)

    def output_path(self, name: str, suffix: str) -> Path:
        """Path for output ``name`` (``suffix`` like ``".wav"``) inside the output folder."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return self.output_dir / f"{name}{suffix}"

    def sub(self, start: float, end: float) -> RunContext:
        """A copy whose progress 0..1 maps onto ``start..end`` of ours (for nested steps)."""
        parent = self.progress_fn

        def mapped(fraction: float, message: str | None = None) -> None:
            parent(start + (end - start) * fraction, message)

        return RunContext(**{**self.__dict__, "progress_fn": mapped})

    def call(self, capability: str, *, inputs: dict[str, Path] | None = None,
             texts: dict[str, str] | None = None, params: dict[str, Any] | None = None,
             output_dir: Path | None = None, progress: tuple[float, float] = (0.0, 1.0)) -> RunResult:
        """Run another registered capability synchronously inside this job."""
        if self.call_fn is None:
            raise RuntimeError("this context cannot call other capabilities")
        return self.call_fn(capability, parent=self, inputs=inputs or {}, texts=texts or {},
                            params=params or {}, output_dir=output_dir, progress=progress)


#: The set a :class:`Genre` joins when it names none.
DEFAULT_GENRE_SET = "remix"


@dataclass(frozen=True)
class Genre:
    """A remix genre preset, returned from the ``register_genres`` hook.

    The engine only lists genres (name, description); ``recipe`` is interpreted by
    whichever plugin performs remixes.
    """

    name: str
    description: str
    recipe: Any = None
    aliases: tuple[str, ...] = ()
    #: The genre set this belongs to; capabilities name the set they accept in ``genre_params``.
    set: str = DEFAULT_GENRE_SET


@dataclass(frozen=True)
class JobInfo:
    """A job as the ``job_succeeded`` / ``job_failed`` hooks see it."""

    id: str
    user_id: str
    capability: str
    status: str
    params: dict[str, Any]
    #: Input name -> ``{"file_id": …}`` or ``{"job_id": …, "output": …}``; text inputs under ``texts``.
    inputs: dict[str, Any]
    #: The first audio input's uploaded file id, if it was an upload.
    audio_id: str | None = None
    attempts: int = 0
    backend: str | None = None


@dataclass(frozen=True)
class DoctorCheck:
    """One line of ``moodmix doctor``: what will be used and why, and how to get better."""

    name: str
    ok: bool
    detail: str
    hint: str | None = None
