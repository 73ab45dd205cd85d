"""The ``moodmix`` command line: serve, worker, migrate, run, bots, doctor, and plugin commands."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from moodmix.engine.config import load_settings
from moodmix.engine.errors import MoodmixError


def _settings(ctx: click.Context):
    try:
        return load_settings(ctx.obj.get("config") if ctx.obj else None)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _logging(settings) -> None:
    from moodmix.engine.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_format)


@click.group()
@click.option("--config", type=click.Path(dir_okay=False), help="TOML configuration file.")
@click.version_option(package_name="moodmix")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """moodmix — stems, mood, remixes and text-to-music, self-hosted."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="HTTP worker processes (keep 1 on the embedded setup: its queue lives in the process).")
@click.option("--server", type=click.Choice(["granian", "uvicorn"]), default="granian", show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, server: str) -> None:
    """Serve the REST API and web page (and run jobs in-process unless Redis is configured)."""
    settings = _settings(ctx)
    if ctx.obj.get("config"):
        os.environ["MOODMIX_CONFIG"] = str(Path(ctx.obj["config"]).resolve())
    if workers > 1 and not settings.redis_url:
        raise click.ClickException("--workers > 1 needs MOODMIX_REDIS_URL: the embedded queue is per process")
    _logging(settings)
    click.echo(f"moodmix serving on http://{host}:{port}  (data: {settings.data_path}, "
               f"queue: {'redis' if settings.redis_url else 'in-process'})")
    if server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        Granian("moodmix.web.app:app_from_env", address=host, port=port, interface=Interfaces.ASGI,
                workers=workers, factory=True, log_enabled=False).serve()
    else:
        import uvicorn

        uvicorn.run("moodmix.web.app:app_from_env", host=host, port=port, factory=True, workers=workers,
                    log_level=settings.log_level.lower(), access_log=False)


@cli.command()
@click.option("--concurrency", type=int, default=None, help="Jobs run at once in this process.")
@click.option("--pool", type=click.Choice(["all", "gpu", "cpu"]), default=None,
              help="The worker pools to take jobs from (default: MOODMIX_WORKER_POOL, else all).")
@click.option("--drain-cpu", is_flag=True, default=None, help="Also take cpu-pool jobs while nothing runs here.")
@click.option("--gpus", default=None, metavar="0,1",
              help="One worker process per GPU, each pinned to its device (CUDA_VISIBLE_DEVICES); "
                   "the pool defaults to gpu.")
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None, pool: str | None, drain_cpu: bool | None,
           gpus: str | None) -> None:
    """Take jobs from the Redis queue (production setup)."""
    import msgspec

    settings = _settings(ctx)
    _logging(settings)
    if gpus is not None:
        from moodmix.engine.device_workers import parse_devices, run_device_workers

        try:
            devices = parse_devices(gpus)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--gpus") from None
        args = ["--pool", pool or "gpu", *(["--drain-cpu"] if drain_cpu else []),
                *(["--concurrency", str(concurrency)] if concurrency else [])]
        sys.exit(run_device_workers(devices, args, ctx.obj.get("config") if ctx.obj else None))
    from moodmix.engine.worker import run_worker

    changes = {"worker_concurrency": concurrency, "worker_pool": pool, "drain_cpu": drain_cpu}
    settings = msgspec.structs.replace(settings, **{k: v for k, v in changes.items() if v})
    try:
        asyncio.run(run_worker(settings))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    from moodmix.engine.db.database import close_database, open_database
    from moodmix.engine.db.migrate import migrate as run_migrations
    from moodmix.engine.plugin_manager import build_plugin_manager

    settings = _settings(ctx)
    pm = build_plugin_manager(settings)  # the plugins this configuration loads, each with its tables

    async def go() -> list[str]:
        engine = await open_database(settings.effective_database_url, pool=False, pm=pm)
        try:
            return await run_migrations(engine, pm)
        finally:
            await close_database(engine)

    ran = asyncio.run(go())
    click.echo(f"applied: {', '.join(ran)}" if ran else "database is up to date")


@cli.command("capabilities")
@click.option("--json", "as_json", is_flag=True, help="Print the full descriptions as JSON.")
def capabilities_cmd(as_json: bool) -> None:
    """List the capabilities the installed plugins provide."""
    from moodmix.engine.plugin_manager import get_plugin_manager
    from moodmix.engine.registry import Registry

    reg = Registry.from_plugin_manager(get_plugin_manager())
    if as_json:
        click.echo(json.dumps([c.describe() for c in reg.capabilities.values()], indent=2))
        return
    for name, cap in sorted(reg.capabilities.items()):
        click.echo(f"{name:12s} {cap.description}  [{reg.owners[name]}]")


def _parse_param(raw: str) -> tuple[str, Any]:
    key, sep, value = raw.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"expected k=v, got {raw!r}", param_hint="--param")
    if value.startswith("@"):
        try:
            value = Path(value[1:]).read_text()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]}: {exc}", param_hint="--param") from None
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


@cli.command()
@click.argument("capability")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--param", "-p", "params", multiple=True, help="Parameter k=v (JSON values, or @file.json).")
@click.option("--input", "-i", "extra_inputs", multiple=True, help="Other inputs: name=path or name=text.")
@click.option("--prompt", help="Text for the capability's prompt input.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the outputs and result.json.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def run(ctx: click.Context, capability: str, file: str | None, params: tuple[str, ...],
        extra_inputs: tuple[str, ...], prompt: str | None, out_dir: str, quiet: bool) -> None:
    """Run CAPABILITY on a local FILE, writing outputs and result.json into -o DIR."""
    from moodmix.cli.local_run import run_local_command

    settings = _settings(ctx)
    if settings.model_download == "ask":  # a missing model may be offered, in a terminal only
        from moodmix.cli.models import install_interactive_prompt

        install_interactive_prompt()
    try:
        parsed = dict(_parse_param(p) for p in params)
        extras = {}
        for raw in extra_inputs:
            k, sep, v = raw.partition("=")
            if not sep:
                raise click.BadParameter(f"expected name=value, got {raw!r}", param_hint="--input")
            extras[k] = v
        doc = run_local_command(settings, capability, file=file, params=parsed, extra_inputs=extras,
                                prompt=prompt, out_dir=Path(out_dir), show_progress=not quiet)
    except MoodmixError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    summary = doc.get("summary")  # the capability's own one line (Capability.summarize)
    if summary:
        click.echo(summary)
    for out in doc["outputs"]:
        click.echo(f"{out['name']:12s} {Path(out_dir) / out['filename']}")
    click.echo(f"result       {Path(out_dir) / 'result.json'}  (backend: {doc['backend']})")


@cli.command("demo-track")
@click.argument("path", type=click.Path(dir_okay=False), default="demo.wav")
@click.option("--seconds", default=20.0, show_default=True)
def demo_track(path: str, seconds: float) -> None:
    """Write a short generated demo song (drums, bass, chords; 120 BPM in A minor)."""
    from moodmix.engine.demo import write_demo_track

    write_demo_track(Path(path), seconds=seconds)
    click.echo(path)


@cli.command()
@click.option("--platform", type=click.Choice(["all", "discord", "telegram"]), default="all", show_default=True)
@click.pass_context
def bots(ctx: click.Context, platform: str) -> None:
    """Run the Discord and/or Telegram bots.

    \b
    Telegram: ask @BotFather for /newbot, then MOODMIX_TELEGRAM_TOKEN=... moodmix bots --platform telegram
    Discord: create an application at discord.com/developers, Bot -> Reset Token, invite it with scopes
    'bot' and 'applications.commands', then MOODMIX_DISCORD_TOKEN=... moodmix bots --platform discord
    With --platform all (default) every bot that has a token starts. Bots use the engine in-process, or a
    remote server with MOODMIX_BOT_API_URL and MOODMIX_BOT_SERVICE_TOKEN (from `moodmix service-token`).
    """
    settings = _settings(ctx)
    _logging(settings)
    try:
        from moodmix.bots.runner import run_bots
        from moodmix.bots.settings import load_bot_settings
    except ModuleNotFoundError as exc:
        raise click.ClickException(f"the bots are not available in this build ({exc})") from None
    try:
        run_bots(settings, platform, load_bot_settings(ctx.obj.get("config") if ctx.obj else None))
    except (ValueError, MoodmixError) as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("service-token")
@click.pass_context
def service_token(ctx: click.Context) -> None:
    """Print a service token for the bots (signed with MOODMIX_SECRET_KEY)."""
    from moodmix.engine import auth

    settings = _settings(ctx)
    click.echo(auth.issue_token(settings.secret_key, "bots", kind="service", ttl_s=365 * 86400))


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Say what this machine will use: device, models found, ffmpeg, database, queue."""
    from moodmix.engine.doctor import report

    for line in report(_settings(ctx)):
        click.echo(line)


def _add_models_group() -> None:
    from moodmix.cli.models import models

    cli.add_command(models)


_add_models_group()


def _load_plugin_commands() -> None:
    try:
        from moodmix.engine.plugin_manager import get_plugin_manager

        get_plugin_manager().hook.register_commands(cli=cli)
    except Exception as exc:  # a broken plugin must not break the CLI
        logging.getLogger("moodmix").warning("plugin commands unavailable: %s", exc)


def main() -> None:
    _load_plugin_commands()
    cli(prog_name="moodmix")

