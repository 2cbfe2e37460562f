"""What publishing needs: the validation and release workflows, hacs.json, CONTRIBUTING.md."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
INTEGRATION = "custom_components/smartwats"
HACS: dict[str, Any] = json.loads((REPO / "hacs.json").read_text(encoding="utf-8"))
# A path of the repository in a workflow: after ${{ github.workspace }}/, or starting with one of
# the repository's top-level folders.
_WORKSPACE_PATH = re.compile(r"\$\{\{\s*github\.workspace\s*\}\}/([^\s\"'$]+)")
_TOP_LEVEL_PATH = re.compile(
    r"(?<![\w/.$-])((?:custom_components|scripts|tests|docs|blueprints|\.github)/[^\s\"'$]*)"
)


def load(name: str) -> dict[str, Any]:
    """A workflow of .github/workflows, parsed."""
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(workflow, dict), name
    return workflow


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The events a workflow runs on (PyYAML, a YAML 1.1 reader, reads the key `on` as True)."""
    keys: dict[Any, Any] = workflow
    events = keys.get("on", keys.get(True))
    if isinstance(events, str):
        events = {events: None}
    elif isinstance(events, list):
        events = dict.fromkeys(events)
    assert isinstance(events, dict), events
    return events


def action(step: dict[str, Any]) -> str:
    """The action a step uses, without its version (`hacs/action@main` → `hacs/action`)."""
    return str(step.get("uses", "")).partition("@")[0]


def _strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from _strings(value, str(child_key))
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, key)
    elif isinstance(node, str):
        yield key, node


def referenced_paths(workflow: dict[str, Any]) -> set[str]:
    """The repository paths a workflow names (in `run`, `with`, ...; not the actions it uses)."""
    paths: set[str] = set()
    for key, text in _strings(workflow):
        if key == "uses":
            continue
        for pattern in (_WORKSPACE_PATH, _TOP_LEVEL_PATH):
            paths.update(match.rstrip("/") for match in pattern.findall(text))
    return paths


def missing_paths(workflow: dict[str, Any], root: Path = REPO) -> list[str]:
    """The paths a workflow names that the repository lacks.

    The release's zip file is made by the workflow: its folder must exist, not the file.
    """
    missing = []
    for path in sorted(referenced_paths(workflow)):
        target = root / path
        if path.endswith(".zip"):
            target = target.parent
        if not target.exists():
            missing.append(path)
    return missing


def test_the_workflows_exist_and_are_workflows() -> None:
    """Each workflow has a name, triggers and jobs; each job a name, a runner and steps."""
    names = sorted(path.name for path in WORKFLOWS.glob("*.y*ml"))
    assert {"validate.yml", "release.yml"} <= set(names)
    for name in names:
        workflow = load(name)
        assert workflow.get("name"), name
        assert triggers(workflow), name
        assert workflow.get("jobs"), name
        for job_id, job in workflow["jobs"].items():
            assert job.get("name"), f"{name}: job {job_id} has no name"
            assert job.get("runs-on"), f"{name}: job {job_id} has no runner"
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), f"{name}: {job_id}: {step}"


def test_validation_runs_on_push_pull_requests_daily_and_by_hand() -> None:
    """Push, pull request, a daily schedule and a manual run, on every branch."""
    events = triggers(load("validate.yml"))
    assert set(events) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    assert events["push"] is None
    assert events["pull_request"] is None
    [schedule] = events["schedule"]
    assert re.fullmatch(r"\d{1,2} \d{1,2} \* \* \*", schedule["cron"]), "not once a day"


def test_validation_runs_hassfest_and_the_hacs_action() -> None:
    """One job runs Home Assistant's hassfest, the other HACS' validation of an integration."""
    jobs = load("validate.yml")["jobs"]
    assert set(jobs) == {"hassfest", "hacs"}
    for job_id, expected in (
        ("hassfest", "home-assistant/actions/hassfest@master"),
        ("hacs", "hacs/action@main"),
    ):
        steps = jobs[job_id]["steps"]
        assert [step.get("uses") for step in steps if "uses" in step] == [
            "actions/checkout@v4",
            expected,
        ], job_id
    [hacs_step] = [step for step in jobs["hacs"]["steps"] if action(step) == "hacs/action"]
    # HACS' default repository asks for the action to pass without an `ignore`.
    assert hacs_step["with"] == {"category": "integration"}


def test_release_attaches_the_zip_hacs_installs() -> None:
    """On a published release, the integration's folder is zipped under hacs.json's filename."""
    workflow = load("release.yml")
    assert triggers(workflow) == {"release": {"types": ["published"]}}
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    assert workflow["permissions"] == {}
    filename = HACS["filename"]
    [zip_step] = [step for step in job["steps"] if "run" in step]
    lines = [line.strip() for line in zip_step["run"].strip().splitlines()]
    # The zip holds the folder's contents (manifest.json at its root), as HACS expects.
    assert lines[0] == f'cd "${{{{ github.workspace }}}}/{INTEGRATION}"'
    assert lines[1].startswith(f"zip -r {filename} . ")
    [upload] = [step for step in job["steps"] if action(step) == "softprops/action-gh-release"]
    assert upload["with"]["files"] == f"${{{{ github.workspace }}}}/{INTEGRATION}/{filename}"


def test_hacs_json_asks_for_the_release_zip() -> None:
    """hacs.json points HACS at the zip the release workflow attaches."""
    assert HACS["zip_release"] is True
    assert HACS["filename"] == "smartwats.zip"


@pytest.mark.parametrize("name", ["validate.yml", "release.yml"])
def test_paths_the_workflows_name_exist(name: str) -> None:
    """Every repository path a workflow names is there (the zip's folder, for the zip)."""
    workflow = load(name)
    assert missing_paths(workflow) == []


def test_the_release_names_the_integration_folder() -> None:
    """The path check sees the release's paths (and does not take actions for paths)."""
    assert referenced_paths(load("release.yml")) == {INTEGRATION, f"{INTEGRATION}/smartwats.zip"}
    assert referenced_paths(load("validate.yml")) == set()


def test_a_missing_path_is_caught() -> None:
    """A workflow naming a folder the repository lacks is reported, however it names it."""
    workflow = {
        "on": "push",
        "jobs": {
            "zip": {
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {"run": 'cd "${{ github.workspace }}/custom_components/smartwatts"'},
                    {"run": "python scripts/no_such_script.py tests/test_publishing.py"},
                    {"with": {"files": "${{ github.workspace }}/custom_components/nope/x.zip"}},
                ]
            }
        },
    }
    assert missing_paths(workflow) == [
        "custom_components/nope/x.zip",
        "custom_components/smartwatts",
        "scripts/no_such_script.py",
    ]


def test_contributing_names_the_two_commands_and_issues() -> None:
    """CONTRIBUTING.md gives the two commands and says how to report an issue."""
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "scripts/develop" in text
    assert "scripts/test" in text
    assert "## Reporting an issue" in text
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        assert (REPO / target).exists(), target
