"""Run ``moodmix run CAPABILITY FILE -o DIR`` on many files in one process; print one JSON line each.

    python tests/hardening/cli_batch.py analyze OUT_ROOT FILE [FILE ...]

The command is the real click entry point (``moodmix.cli:cli``); running every file in
one interpreter saves a few seconds of start-up per file. A crash in native code still shows:
the process dies and the caller sees fewer lines than files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

from moodmix.cli import cli


def run_one(runner: CliRunner, capability: str, path: Path, out_dir: Path) -> dict:
    result = runner.invoke(cli, ["run", capability, str(path), "-o", str(out_dir), "-q"], catch_exceptions=True)
    escaped = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        escaped = f"{type(result.exception).__name__}: {result.exception}"
    return {"file": path.name, "exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr,
            "exception": escaped}


def main(argv: list[str]) -> None:
    capability, out_root, *files = argv
    runner = CliRunner()
    for i, name in enumerate(files):
        record = run_one(runner, capability, Path(name), Path(out_root) / f"{i:03d}")
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
