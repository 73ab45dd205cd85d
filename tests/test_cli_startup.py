"""The command line starts without the heavy libraries: they load only where a command uses them.

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from moodmix.engine.config import gpu_driver_visible

HEAVY = ("torch", "transformers", "litestar", "piccolo", "librosa", "matplotlib", "pedalboard", "discord",
         "telegram", "boto3", "sklearn", "scipy", "numba", "granian", "redis", "taskiq")


def loaded_after(code: str) -> set[str]:
    """Top-level packages of ``HEAVY`` present in ``sys.modules`` after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1])) & set(HEAVY)


def test_importing_the_cli_loads_no_heavy_library():
    assert loaded_after("import moodmix.cli") == set()


def test_plugin_discovery_and_help_load_no_heavy_library():
    code = ("import moodmix.cli as c\nc._load_plugin_commands()\n"
            "from click.testing import CliRunner\nassert CliRunner().invoke(c.cli, ['--help']).exit_code == 0")
    assert loaded_after(code) == set()


def test_registry_of_every_capability_loads_no_heavy_library():
    code = ("from moodmix.engine.plugin_manager import get_plugin_manager\n"
            "from moodmix.engine.registry import Registry\n"
            "assert Registry.from_plugin_manager(get_plugin_manager()).capabilities")
    assert loaded_after(code) == set()


@pytest.mark.skipif(gpu_driver_visible(), reason="a GPU driver is visible here, so torch is asked")
def test_auto_device_without_a_gpu_driver_does_not_import_torch():
    code = ("from moodmix.engine.config import load_settings\n"
            "assert load_settings(environ={}, device='auto').resolved_device == 'cpu'")
    assert "torch" not in loaded_after(code)


def test_moodmix_run_draws_its_bar_before_the_engine_loads():
    """``moodmix run`` shows progress first; numpy and soundfile (the engine's audio path) load behind it."""
    probe = ("import json, sys\nimport moodmix.cli.local_run\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert not {"numpy", "soundfile", "pluggy"} & set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_an_analysis_loads_neither_librosa_nor_numba(tmp_path):
    """analyze's transforms are numpy: importing librosa (and numba's kernels) would cost more than
    analysing a short file (issue 19: ``moodmix run analyze`` on a 1-s file within 3 s)."""
    import numpy as np
    import soundfile as sf

    path = tmp_path / "chord.wav"
    t = np.arange(44100) / 44100
    sf.write(path, 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)), 44100)
    code = (f"from moodmix.plugins.analyze.pipeline import analyze_file\n"
            f"assert analyze_file({str(path)!r})['key_name']")
    assert not {"librosa", "numba", "torch", "sklearn"} & loaded_after(code)
