"""moodmix: self-hosted music remix & mood engine.

Plugin authors import :data:`hookimpl` from here (``from moodmix import hookimpl``).
"""

from importlib.metadata import PackageNotFoundError, version

#: The entry-point group every plugin, built-in or third-party, is announced in.
PLUGIN_GROUP = "moodmix.plugins"

try:
    __version__ = version("moodmix")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"


def __getattr__(name: str):
    # Lazy so that ``import moodmix`` stays cheap (no pluggy import for `--version`).
    if name == "hookimpl":
        from moodmix.engine.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(name)
