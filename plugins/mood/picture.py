"""The result as a picture: where the track sits on the valence/arousal plane, and how its mood moves.

Drawn on a bare Agg canvas (no pyplot) so it is thread-safe in a worker and never
touches a display.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from moodmix.plugins.mood.taxonomy import MOOD_NAMES, TAXONOMY

#: One colour per mood, wherever a mood is drawn: legend, bands, timeline points, and the web page
#: (the capability publishes them as its ``ui["colours"]`` hint).
COLOURS = {
    "happy": "#f4c430", "energetic": "#ff7f0e", "calm": "#7fc8a9", "romantic": "#e377c2",
    "sad": "#4a78b5", "dark": "#4b3b6b", "tense": "#d62728", "epic": "#8c564b",
}
#: Valence and arousal lines are drawn in greys, so no mood's colour means something else.
LINE_COLOURS = {"valence": "#222222", "arousal": "#8a8a8a"}


def track_title(name: str) -> str:
    """A file name as a title: ``"Night Drive.ogg"`` → ``"Night Drive"`` (a name without a suffix stays)."""
    return re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name.strip()) or name


def draw(result: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Write a PNG of ``result`` (as produced by :func:`analysis.analyse_audio`) to ``path``.

    ``title``: the track's file name as its owner knows it (``RunContext.input_name``), shown without
    its extension.
    """
    path = Path(path)
    figure(result, title).savefig(path, format="png")
    return path


def figure(result: dict[str, Any], title: str = "") -> Any:
    """The picture as a matplotlib ``Figure`` (what :func:`draw` saves)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, width_ratios=(1, 1.7), height_ratios=(3, 1))
    _plane(fig.add_subplot(grid[:, 0]), result)
    _probabilities(fig.add_subplot(grid[0, 1]), result)
    _strip(fig.add_subplot(grid[1, 1]), result)
    headline = (f"{result['mood']} · {result['confidence']:.0%} · valence {result['valence']:+.2f} · "
                f"arousal {result['arousal']:+.2f}")
    title = track_title(title) if title else ""
    fig.suptitle(f"{title} — {headline}" if title else headline, fontsize=12)
    return fig


def _plane(ax: Any, result: dict[str, Any]) -> None:
    ax.axhline(0, color="#bbbbbb", lw=0.8)
    ax.axvline(0, color="#bbbbbb", lw=0.8)
    for mood in TAXONOMY:
        ax.scatter(mood.valence, mood.arousal, s=30, color=COLOURS[mood.name], alpha=0.5)
        ax.annotate(mood.name, (mood.valence, mood.arousal), textcoords="offset points", xytext=(4, 4),
                    fontsize=8, color="#555555")
    points = result["timeline"]
    if len(points) > 1:
        ax.plot([p["valence"] for p in points], [p["arousal"] for p in points], color="#999999", lw=1,
                zorder=2)
        ax.scatter([p["valence"] for p in points], [p["arousal"] for p in points], s=14,
                   c=[COLOURS[p["mood"]] for p in points], zorder=3, edgecolors="#666666", linewidths=0.5)
    ax.scatter(result["valence"], result["arousal"], s=220, color=COLOURS[result["mood"]], edgecolors="black",
               linewidths=1.5, zorder=4, label="track")
    ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="valence (unpleasant → pleasant)",
           ylabel="arousal (calm → excited)", aspect="equal")
    ax.set_title("valence / arousal", fontsize=10)


def _probabilities(ax: Any, result: dict[str, Any]) -> None:
    """Stacked probabilities per window: the colour bands show how the mood moves."""
    points = result["timeline"]
    edges = [p["start"] for p in points] + [points[-1]["end"]]
    bottom = [0.0] * len(points)
    for mood in MOOD_NAMES:
        heights = [p["distribution"][mood] for p in points]
        ax.bar(edges[:-1], heights, width=[p["end"] - p["start"] for p in points], bottom=bottom,
               align="edge", color=COLOURS[mood], edgecolor="white", linewidth=0.3, label=mood)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    for p in points:
        ax.text((p["start"] + p["end"]) / 2, 1.02, p["mood"], ha="center", va="bottom", fontsize=7, rotation=0
                if len(points) <= 12 else 90)
    ax.set(xlim=(edges[0], edges[-1]), ylim=(0, 1), ylabel="probability")
    ax.tick_params(labelbottom=False)
    ax.legend(ncol=8, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False)


def _strip(ax: Any, result: dict[str, Any]) -> None:
    points = result["timeline"]
    starts = [p["start"] for p in points]
    ax.plot([p["start"] + (p["end"] - p["start"]) / 2 for p in points], [p["valence"] for p in points],
            marker="o", ms=3, label="valence", color=LINE_COLOURS["valence"])
    ax.plot([p["start"] + (p["end"] - p["start"]) / 2 for p in points], [p["arousal"] for p in points],
            marker="s", ms=3, ls="--", label="arousal", color=LINE_COLOURS["arousal"])
    ax.axhline(0, color="#bbbbbb", lw=0.8)
    ax.set(xlim=(starts[0], points[-1]["end"]), ylim=(-1.05, 1.05), xlabel="time (s)")
    ax.legend(fontsize=7, loc="lower right", frameon=False, ncol=2)
