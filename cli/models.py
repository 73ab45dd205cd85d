"""``moodmix models list|pull|verify|remove``: the weights plugins declare, on this machine.

The models come from the ``register_models`` hook; this module names none of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from moodmix.engine.models import ModelSpec


def _human(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _context(ctx: click.Context) -> tuple[dict[str, ModelSpec], Path]:
    from moodmix.cli import _settings
    from moodmix.engine.models import known_models, model_root

    return known_models(), model_root(_settings(ctx))


def _pick(specs: dict[str, ModelSpec], names: tuple[str, ...]) -> list[ModelSpec]:
    from moodmix.engine.models import find_spec

    chosen = []
    for name in names:
        spec = find_spec(name, specs)
        if spec is None:
            raise click.UsageError(f"unknown model {name!r}; known: {', '.join(specs) or 'none'}")
        chosen.append(spec)
    return chosen


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def show_licence(spec: ModelSpec) -> None:
    kind = "NON-COMMERCIAL licence" if spec.non_commercial else "licence"
    click.echo(f"{spec.name} ({spec.repo_id}, ≈{_human(spec.size)}): {kind} {spec.licence} — {spec.licence_url}")


def accept(spec: ModelSpec, accepted: bool) -> bool:
    """Whether ``spec`` may be downloaded: always after its licence is shown, unless non-commercial and
    neither ``--accept-licence`` nor an interactive yes was given."""
    show_licence(spec)
    if not spec.non_commercial or accepted:
        return True
    if not interactive():
        return False
    return click.confirm(f"Use {spec.name} only under {spec.licence} (non-commercial)? Accept and download",
                         default=False)


class RichPullProgress:
    """One rich progress bar per file, fed by huggingface_hub's byte counts."""

    def __init__(self) -> None:
        self.progress = rich_progress()
        self.tasks: dict[str, int] = {}

    def close(self) -> None:
        if self.tasks:
            self.progress.stop()

    def start(self, filename: str, total: int | None, initial: int) -> None:
        if not self.tasks:  # started on the first byte: a hub that is down prints nothing but the error
            self.progress.start()
        if filename in self.tasks:  # a resumed transfer reopens its bar
            self.progress.update(self.tasks[filename], total=total, completed=initial)
        else:
            self.tasks[filename] = self.progress.add_task(filename, total=total, completed=initial)

    def advance(self, filename: str, nbytes: int) -> None:
        self.progress.advance(self.tasks[filename], nbytes)


def rich_progress():
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())


def install_interactive_prompt() -> None:
    """Let ``moodmix run`` ask before downloading a missing model (``model_download = ask``, terminal only)."""
    from moodmix.engine import model_policy

    if not interactive():
        return

    def prompt(spec: ModelSpec) -> bool:
        click.echo(f"{spec.name} is not installed; it would give a better result than the fallback.", err=True)
        show_licence(spec)
        question = (f"Accept {spec.licence} (non-commercial) and download {spec.name}?" if spec.non_commercial
                    else f"Download {spec.name} now?")
        return click.confirm(question, default=False, err=True)

    model_policy.set_prompt(prompt, LinePullProgress())


class LinePullProgress:
    """Plain progress lines on stderr: ``moodmix run`` already shows a live bar, and rich allows one."""

    def __init__(self) -> None:
        self.state: dict[str, list[int]] = {}

    def start(self, filename: str, total: int | None, initial: int) -> None:
        self.state[filename] = [initial, total or 0, -1]
        self.advance(filename, 0)

    def advance(self, filename: str, nbytes: int) -> None:
        done, total, shown = self.state[filename]
        done += nbytes
        quarter = (4 * done // total) if total else 0
        if quarter != shown:
            click.echo(f"  {filename}: {_human(done)} of {_human(total)}", err=True)
        self.state[filename] = [done, total, quarter]


@click.group("models")
def models() -> None:
    """Model weights: list what plugins can use, pull, verify and remove them."""


@models.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """Every known model: task, size, licence, whether it is installed and where."""
    from rich.console import Console
    from rich.table import Table

    from moodmix.engine.models import installed_folder, installed_size

    specs, root = _context(ctx)
    table = Table(title=f"models (folder: {root})")
    for column in ("name", "task", "size", "licence", "installed", "where"):
        table.add_column(column)
    for spec in specs.values():
        folder = installed_folder(spec, root)
        size = _human(installed_size(folder)) if folder else f"≈{_human(spec.size)}"
        licence = spec.licence + (" (non-commercial)" if spec.non_commercial else "")
        table.add_row(spec.name, spec.task, size, licence, "yes" if folder else "no",
                      str(folder) if folder else spec.repo_id)
    Console(width=200).print(table)


@models.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--accept-licence", is_flag=True, help="Accept non-commercial licences without asking.")
@click.pass_context
def pull(ctx: click.Context, names: tuple[str, ...], accept_licence: bool) -> None:
    """Download NAMES from the hub (HF_ENDPOINT honoured) into the model folder, checking every file."""
    from moodmix.engine.model_hub import HubError
    from moodmix.engine.model_hub import pull as pull_model

    specs, root = _context(ctx)
    chosen = _pick(specs, names)
    refused = [s.name for s in chosen if not accept(s, accept_licence)]
    if refused:
        click.echo(f"error: {', '.join(refused)} not downloaded: accept the licence with --accept-licence",
                   err=True)
        sys.exit(2)
    for spec in chosen:
        bars = RichPullProgress()
        try:
            folder = pull_model(spec, root, bars)
        except HubError as exc:
            bars.close()
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        bars.close()
        click.echo(f"{spec.name}: installed in {folder}")


@models.command()
@click.argument("names", nargs=-1)
@click.pass_context
def verify(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Recompute every file's hash against the hub's (all installed models, or NAMES)."""
    from moodmix.engine.models import installed_folder
    from moodmix.engine.models import verify as verify_model

    specs, root = _context(ctx)
    chosen = _pick(specs, names) if names else [s for s in specs.values() if installed_folder(s, root)]
    if not chosen:
        click.echo(f"no models installed in {root}")
        return
    bad = 0
    for spec in chosen:
        problems = verify_model(spec, root)
        bad += bool(problems)
        click.echo(f"{spec.name}: " + ("ok" if not problems else "DAMAGED — " + "; ".join(problems)
                                       + f" (repair: moodmix models pull {spec.name})"))
    if bad:
        sys.exit(1)


@models.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Delete installed models (their folders) from the model folder."""
    from moodmix.engine.models import remove as remove_model

    specs, root = _context(ctx)
    for spec in _pick(specs, names):
        click.echo(f"{spec.name}: {'removed' if remove_model(spec, root) else 'was not installed'}")
