"""What a capability plugin declares, and what its ``run`` receives and returns.

A capability is plain data (:class:`Capability`) plus one function
``run(ctx: RunContext) -> RunResult``. Plugins work on files given to them in
``ctx.inputs`` and write into ``ctx.output_dir``; storage, database and queues
are the engine's business.
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
class Capability:
    """A capability descriptor returned from the ``register_capabilities`` hook."""

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
    #: Free-form hints for front ends (e.g. ``{"emoji": "🎚"}``); never required.
    ui: dict[str, Any] = field(default_factory=dict)

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
        }


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

    def is_cancelled(self) -> bool:
        return self.cancelled_fn()

    def output_path(self, name: str, suffix: str) -> Path:
        """Path for output ``name`` (``suffix`` like ``".wav"``) inside the output folder."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return self.output_dir / f"{name}{suffix}"

    def sub(self, start: float, end: float) -> RunContext:
        """A copy whose progress 0..1 maps onto ``start..end`` of ours (for nested steps)."""
        parent = self.progress_fn

        def mapped(fraction: float, message: str | None = None) -> None:
            parent(start + (end - start) * fraction, message)

        clone = RunContext(**{**self.__dict__, "progress_fn": mapped})
        return clone

    def call(self, capability: str, *, inputs: dict[str, Path] | None = None,
             texts: dict[str, str] | None = None, params: dict[str, Any] | None = None,
             output_dir: Path | None = None, progress: tuple[float, float] = (0.0, 1.0)) -> RunResult:
        """Run another registered capability synchronously inside this job."""
        if self.call_fn is None:
            raise RuntimeError("this context cannot call other capabilities")
        return self.call_fn(capability, parent=self, inputs=inputs or {}, texts=texts or {},
                            params=params or {}, output_dir=output_dir, progress=progress)


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
