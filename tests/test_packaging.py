"""The installed package is the tree in the repository: explicit mapping, no symlinks, a complete wheel.

The wheel test installs the built wheel into a fresh virtual environment and runs the CLI and the
server from there, far from the source tree, so a file the wheel forgot fails here and not at a user's.
(The fresh venv borrows the test environment's third-party packages through a ``.pth`` line instead of
downloading them again; moodmix itself comes only from the wheel, which the test checks.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import httpx
import pytest
from support import free_port

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_no_tracked_symlinks():
    if not (ROOT / ".git").exists():
        pytest.fail("tests run from a git checkout (CI clones one)")
    listing = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True)
    links = [line.split("\t", 1)[1] for line in listing.stdout.splitlines() if line.startswith("120000")]
    assert links == []


def test_every_package_folder_is_mapped():
    """A new sub-package that is not listed in pyproject.toml would be left out of the wheel."""
    tool = _pyproject()["tool"]["setuptools"]
    listed, mapping = set(tool["packages"]), tool["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]))
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "listed packages with no folder"


def test_builtin_plugins_are_entry_points():
    from moodmix import PLUGIN_GROUP

    eps = _pyproject()["project"]["entry-points"][PLUGIN_GROUP]
    for name, target in eps.items():
        assert target == f"moodmix.plugins.{name}"
        assert (ROOT / "plugins" / name / "__init__.py").is_file()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    (found,) = out.glob("moodmix-*.whl")
    return found


def test_wheel_holds_runtime_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("moodmix/__init__.py", "moodmix/cli/__init__.py", "moodmix/engine/hookspecs.py",
                     "moodmix/web/static/index.html", "moodmix/web/static/js/api.js",
                     "moodmix/plugins/mood/shipped_model.joblib", "moodmix/migrations/m0001_initial.py"):
        assert required in names
    assert not any(n.startswith(("engine/", "plugins/", "web/", "bots/", "tests/")) for n in names)


def test_installed_wheel_runs_cli_and_server(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "MOODMIX_DATA_DIR": str(work / "data"), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    where = subprocess.run([str(py), "-c", "import moodmix.engine, moodmix.web; print(moodmix.engine.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where
    moodmix = venv / "bin" / "moodmix"
    subprocess.run([str(moodmix), "demo-track", "demo.wav", "--seconds", "4"], cwd=work, env=env, check=True,
                   capture_output=True)
    run = subprocess.run([str(moodmix), "run", "analyze", "demo.wav", "-o", "out", "-q"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (work / "out" / "result.json").is_file()
    port = free_port()
    server = subprocess.Popen([str(moodmix), "serve", "--port", str(port)], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        page = _wait_get(f"http://127.0.0.1:{port}/", server)
        assert "<html" in page.text.lower() and "moodmix" in page.text.lower()
        schema = httpx.get(f"http://127.0.0.1:{port}/schema/openapi.json", timeout=30)
        assert schema.status_code == 200 and "/api/v1/files" in str(schema.json()["paths"])
        assert httpx.get(f"http://127.0.0.1:{port}/schema", timeout=30).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    shutil.rmtree(work / "data", ignore_errors=True)


def _wait_get(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            return httpx.get(url, timeout=2).raise_for_status()
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
