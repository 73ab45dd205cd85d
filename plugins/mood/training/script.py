"""The command line both shipped-model training scripts share (same options, same metrics file)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def training_main(train: Callable[[int, int, int, Path], dict[str, Any]], default_output: Path,
                  description: str, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--per-mood", type=int, default=60)
    parser.add_argument("--held-out-per-mood", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("-o", "--output", type=Path, default=default_output)
    parser.add_argument("--metrics", type=Path, help="also write the metrics as JSON here")
    args = parser.parse_args(argv)
    metrics = train(args.per_mood, args.held_out_per_mood, args.seed, args.output)
    if args.metrics:
        args.metrics.write_text(json.dumps(metrics, indent=2))
