"""Every hook a moodmix plugin can implement. This file is the plugin contract.

A plugin is any module or object with functions decorated by :data:`hookimpl`
(``from moodmix import hookimpl``). Every plugin, moodmix's own included, is
announced in the entry-point group named by :data:`moodmix.PLUGIN_GROUP` and
loaded by the same code; ``docs/plugins.md`` shows the ``pyproject.toml`` lines
and an example of each hook (a test keeps the two in step).

Implementations may accept any subset of a hook's arguments (pluggy passes only
the ones named), so hooks can grow new arguments without breaking plugins. Hooks
marked *async allowed* may be plain functions or coroutines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    import msgspec
    from piccolo.table import Table

    from moodmix.engine.capability import Capability, DoctorCheck, Genre, JobInfo, RunResult
    from moodmix.engine.config import Settings
    from moodmix.engine.db.migrate import Migration
    from moodmix.engine.models import ModelSpec

hookspec = pluggy.HookspecMarker("moodmix")
#: Decorator for plugin implementations of the hooks below.
hookimpl = pluggy.HookimplMarker("moodmix")


@hookspec
def register_capabilities() -> list[Capability]:
    """Return the capabilities this plugin provides.

    :returns: a list of :class:`moodmix.engine.capability.Capability`. Names must be
        unique across all plugins; a clash is reported at start-up naming both plugins.
    """


@hookspec
def register_genres() -> list[Genre]:
    """Return genre presets (:class:`moodmix.engine.capability.Genre`).

    Each genre belongs to a set (``Genre.set``, ``"remix"`` by default); a capability
    names the set its genre parameter takes in ``Capability.genre_params``. Served by
    ``GET /api/v1/genres`` and offered by the bots and the web page. The ``recipe`` is
    read by the plugin that performs that set's work.
    """


@hookspec
def register_settings() -> type[msgspec.Struct]:
    """Return the settings struct of this plugin (a ``msgspec.Struct`` with defaults).

    Values come from the ``[plugins.NAME]`` table of the TOML file or from
    ``MOODMIX_PLUGINS__NAME__FIELD`` environment variables, where ``NAME`` is the
    plugin's entry-point name. They are validated at start-up (a bad value names its
    key) and reach the plugin as ``ctx.plugin_settings`` in ``run`` and through
    ``Registry.plugin_settings(NAME)`` elsewhere.
    """


@hookspec
def register_tables() -> list[type[Table]]:
    """Return the piccolo tables this plugin owns.

    They are bound to the engine's database (SQLite or Postgres) at start-up. Create
    and change them with :func:`register_migrations`; a foreign key to an engine table
    should say what happens on delete (``OnDelete.cascade`` or ``OnDelete.set_null``),
    because the engine deletes its rows without knowing your tables.
    """


@hookspec
def register_migrations() -> list[Migration]:
    """Return this plugin's schema migrations (:class:`moodmix.engine.db.migrate.Migration`).

    ``moodmix migrate`` and every process start apply the ones not yet applied, after
    the engine's own, in the order of their ids; each id is recorded once as
    ``NAME:id``, so ids only need to be unique within the plugin.
    """


@hookspec
def register_routes() -> list[Any]:
    """Return Litestar route handlers; they are mounted under ``/api/v1/plugins/NAME/``.

    Handlers may ask for the dependencies ``user`` (the signed-in user's record: a
    route that names it requires a Bearer token) and ``service`` (the service layer).
    Errors raised as :class:`moodmix.engine.errors.MoodmixError` become the usual 4xx
    envelope.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``moodmix`` command line.

    :param cli: the root ``click.Group``; call ``cli.command()`` / ``cli.add_command``.
    """


@hookspec
def job_succeeded(job: JobInfo, capability: Capability, result: RunResult) -> None:
    """Called after a job's outputs are stored and the job is marked succeeded (async allowed).

    Lets a plugin keep its own records (the mood plugin writes a row in its ``moods``
    table). Not called for a job answered from a finished twin (result reuse). A
    failing implementation is logged; the job stays succeeded.

    :param job: the finished job (:class:`moodmix.engine.capability.JobInfo`, status ``"succeeded"``).
    :param capability: the capability that ran.
    :param result: what ``run`` returned; ``files`` now maps output names to storage keys.
    """


@hookspec
def job_failed(job: JobInfo, capability: Capability | None, error_code: str, error: str) -> None:
    """Called once when a job ends failed, cancelled or timed out (async allowed).

    :param job: the job, with its final ``status`` (``"failed"`` or ``"cancelled"``).
    :param capability: the capability it asked for (``None`` if no longer registered).
    :param error_code: a short machine-readable code (``"bad_audio"``, ``"timeout"``, ``"cancelled"``…).
    :param error: the reason, in words for people.
    """


@hookspec
def doctor_checks(settings: Settings) -> list[DoctorCheck]:
    """Return lines for ``moodmix doctor`` (:class:`moodmix.engine.capability.DoctorCheck`).

    Say what this plugin will use on this machine and why (which backend, which model,
    which device), and what to do for a better one.
    """


@hookspec
def startup(settings: Settings) -> None:
    """Called once per process (server, worker, CLI run) after configuration is loaded.

    :param settings: the :class:`moodmix.engine.config.Settings` in force.
    """


@hookspec
def register_models() -> list[ModelSpec]:
    """Return the model weights this plugin can use (:class:`moodmix.engine.models.ModelSpec`).

    ``moodmix models list|pull|verify|remove`` offers them; a pull downloads the listed files
    of ``repo_id`` at ``revision`` from the Hugging Face hub (or ``HF_ENDPOINT``) into
    ``<model folder>/<name>/``, checks each against the hub's hashes, and records the licence.
    Find them there with :func:`moodmix.engine.models.installed_folder`; fetch one mid-job
    only through :func:`moodmix.engine.model_policy.fetch_if_allowed` (the ``model_download``
    setting decides). Names must be unique across plugins (the first one loaded wins).
    """
