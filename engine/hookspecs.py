"""Every hook a moodmix plugin can implement. This file is the plugin contract.

A plugin is any module or object with functions decorated by :data:`hookimpl`
(``from moodmix import hookimpl``). Built-in plugins are registered exactly like
third-party ones; every plugin, moodmix's own included, is announced in the entry-point group
named by :data:`moodmix.PLUGIN_GROUP` (see ``docs/plugins.md`` for the
``pyproject.toml`` lines).

Implementations may accept any subset of a hook's arguments (pluggy passes only
the ones named), so hooks can grow new arguments without breaking plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from moodmix.engine.capability import Capability, Genre, RunResult

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
    """Return remix genre presets (:class:`moodmix.engine.capability.Genre`).

    Served by ``GET /api/v1/genres`` and offered by the bots and the web page.
    The ``recipe`` of each genre is read by the plugin that performs remixes.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``moodmix`` command line.

    :param cli: the root ``click.Group``; call ``cli.command()`` / ``cli.add_command``.
    """


@hookspec
async def job_succeeded(job: Any, capability: Capability, result: RunResult, audio_id: str | None,
                        user_id: str) -> None:
    """Called by the worker after a job's outputs are stored (async or sync implementation).

    Lets a plugin keep its own records, e.g. the mood plugin writes a row in the
    ``moods`` table.

    :param job: the ``ProcessingJob`` row (already marked succeeded).
    :param capability: the capability that ran.
    :param result: what ``run`` returned; ``files`` now maps output names to storage keys.
    :param audio_id: id of the job's primary audio input file, if any.
    :param user_id: owner of the job.
    """


@hookspec
def startup(settings: Any) -> None:
    """Called once per process (server, worker, CLI run) after configuration is loaded.

    :param settings: the :class:`moodmix.engine.config.Settings` in force.
    """
