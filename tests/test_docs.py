"""Documentation that cannot drift: the plugin guide shows every hook's exact signature, every descriptor
field and every test fixture, its examples compile and import only what exists; the README opens with
two commands."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import sys
import types
from pathlib import Path

import pytest

import moodmix.testing
from moodmix.engine import capability, hookspecs

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text()


def hooks() -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, "moodmix_spec")}


def section(title: str) -> str:
    """The text under ``## title`` up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", GUIDE, re.S | re.M)
    assert match, f"docs/plugins.md has no '## {title}' section"
    return match.group(1)


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE, re.S)


def test_every_hook_is_documented_with_its_signature():
    specs = hooks()
    assert {"register_capabilities", "register_routes", "job_failed", "doctor_checks"} <= set(specs)
    headings = re.findall(r"^### (\w+)\((.*)\)$", section("Hooks"), re.M)
    documented = {name: args for name, args in headings}
    for name, sig in specs.items():
        expected = ", ".join(sig.parameters)
        assert name in documented, f"hook {name} missing from docs/plugins.md: add '### {name}({expected})'"
        assert documented[name] == expected, f"docs show {name}({documented[name]}), the hook is {name}({expected})"
        assert inspect.getdoc(getattr(hookspecs, name)), f"hook {name} has no docstring"
    assert len(headings) == len(documented) and set(documented) == set(specs), \
        f"documented hooks that do not exist: {sorted(set(documented) - set(specs))}"


def test_every_hook_has_an_example_implementing_it():
    section_text = section("Hooks")
    for name in hooks():
        body = re.search(rf"^### {name}\(.*?\)$(.*?)(?=^### |\Z)", section_text, re.S | re.M).group(1)
        assert re.search(rf"```python\n.*?def {name}\(", body, re.S), f"hook {name} has no example"


@pytest.mark.parametrize("cls", [capability.Capability, capability.InputSpec, capability.OutputSpec,
                                 capability.Resources, capability.RunResult, capability.Genre,
                                 capability.JobInfo, capability.DoctorCheck])
def test_every_descriptor_field_is_documented(cls):
    for f in dataclasses.fields(cls):
        assert f"`{f.name}`" in GUIDE, f"{cls.__name__}.{f.name} is not described in docs/plugins.md"


def test_run_context_members_are_documented_with_their_signatures():
    text = section("Descriptors")
    for method in ("load_audio", "save_audio", "open_audio", "progress", "call"):
        params = [p for p in inspect.signature(getattr(capability.RunContext, method)).parameters if p != "self"]
        shown = re.search(rf"`ctx\.{method}\(([^`]*)\)`", text)
        assert shown, f"RunContext.{method} is not documented"
        args = ast.parse(f"def {method}({shown.group(1)}): pass").body[0].args
        names = [a.arg for a in (*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg) if a]
        assert names == params, f"docs show ctx.{method}({shown.group(1)}), it takes {params}"
    public = [f.name for f in dataclasses.fields(capability.RunContext) if not f.name.startswith("_")
              and not f.name.endswith("_fn")]
    for name in public:
        assert f"`ctx.{name}`" in text, f"RunContext.{name} is not documented"


def test_every_fixture_is_documented():
    text = section("Testing your plugin")
    fixtures = [name for name, obj in vars(moodmix.testing).items()
                if name.startswith("moodmix_") and type(obj).__name__ == "FixtureFunctionDefinition"]
    assert len(fixtures) >= 6, fixtures
    for name in fixtures:
        assert f"`{name}`" in text, f"fixture {name} is not documented"


def test_entry_point_lines_are_the_real_ones():
    pyproject = (ROOT / "pyproject.toml").read_text()
    toml_blocks = re.findall(r"```toml\n(.*?)```", GUIDE, re.S)
    own = next(b for b in toml_blocks if "pytest11" in b)
    for line in own.splitlines():
        if "=" in line:
            assert line.strip() in pyproject, f"docs show '{line.strip()}', pyproject.toml does not"


def test_examples_compile_and_import_only_what_exists():
    blocks = python_blocks()
    assert len(blocks) >= len(hooks())
    for block in blocks:
        tree = ast.parse(block)  # a SyntaxError names the example
        compile(tree, "<docs/plugins.md>", "exec")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moodmix":
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"docs import {alias.name} from {node.module}: no such name"


def hook_examples(monkeypatch) -> types.ModuleType:
    """The Hooks section's examples run one after another: together they are the guide's echo plugin."""
    module = types.ModuleType("docs_echo_plugin")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # Litestar reads handlers' annotations there
    for block in re.findall(r"```python\n(.*?)```", section("Hooks"), re.S):
        exec(compile(block, "<docs/plugins.md>", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("moodmix_env", [{"MOODMIX_PLUGINS__ECHO__FEEDBACK": "0.3"}])
async def test_the_hook_examples_make_a_working_plugin(moodmix_plugin, moodmix_client, moodmix_audio, monkeypatch):
    moodmix_plugin(hook_examples(monkeypatch), name="echo")
    about = await moodmix_client.get("/api/v1/plugins/echo/about")
    assert about.json() == {"plugin": "echo", "feedback": 0.3}
    headers = await moodmix_client.signup()
    assert (await moodmix_client.post("/api/v1/plugins/echo/notes", json={"text": "x"})).status_code == 401
    empty = await moodmix_client.post("/api/v1/plugins/echo/notes", headers=headers, json={"text": " "})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_note"
    added = await moodmix_client.post("/api/v1/plugins/echo/notes", headers=headers, json={"text": "hello"})
    assert added.status_code == 201, added.text

    file_id = await moodmix_client.upload(headers, moodmix_audio("click", seconds=1.0))
    job = await moodmix_client.post("/api/v1/jobs", headers=headers, json={"capability": "echo", "file_id": file_id})
    done = await moodmix_client.wait_job(headers, job.json()["data"]["id"])
    assert done["status"] == "succeeded" and done["backend"] == "numpy", done
    notes = (await moodmix_client.get("/api/v1/plugins/echo/notes", headers=headers)).json()
    assert notes == [{"text": "hello"}, {"text": "echo after 0.25 s"}]  # the second from job_succeeded


def test_readme_opens_with_two_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block and text.index("```bash") < 40
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert lines[1].split()[0].lstrip("./") in ci
