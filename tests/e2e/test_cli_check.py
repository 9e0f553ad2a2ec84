"""`lspilot check`: the real command in a subprocess, against the fake model server.

The fixture tree (tests/fixtures/check_tree) is copied to a temporary folder for each test;
its `gitignore` becomes `.gitignore` there (a real `.gitignore` in the repository would keep
git from committing the very files the test needs to see ignored).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests.fakes.model_server import FakeModelServer, Reply

LSPILOT = [sys.executable, "-m", "lspilot"]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SARIF_SCHEMA = FIXTURES / "sarif-2.1.0-subset.schema.json"
# The official schema (from npm @microsoft/jest-sarif; `make sarif-schema` refreshes it).
SARIF_OFFICIAL_SCHEMA = FIXTURES / "sarif-2.1.0-rtm.5.schema.json"

WARNING_QUOTE = "result = result + price"
ERROR_QUOTE = "return result - discount"
# Chunks in the tree that are reviewed: pkg/__init__.py (1), pkg/notes.py (2: the module
# remainder and `shout`), pkg/orders.py (3: the module docstring, `total`, `average`).
REVIEWED_FILES = {"pkg/__init__.py", "pkg/notes.py", "pkg/orders.py"}


def review_answer(body: dict[str, Any]) -> str:
    """A review that flags two lines of `total`, and nothing anywhere else."""
    prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
    if WARNING_QUOTE not in prompt:
        return json.dumps({"issues": []})
    return json.dumps(
        {
            "issues": [
                {
                    "quote": WARNING_QUOTE,
                    "message": "Use `+=`, or sum() for the whole loop.",
                    "severity": "warning",
                    "fix": "result += price",
                },
                {
                    "quote": ERROR_QUOTE,
                    "message": "The discount can exceed the total.",
                    "severity": "error",
                },
            ]
        }
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the fixture tree with its .gitignore in place."""
    target = tmp_path / "tree"
    shutil.copytree(FIXTURES / "check_tree", target)
    (target / "gitignore").rename(target / ".gitignore")
    return target


@pytest.fixture
def fake(model_server: FakeModelServer) -> FakeModelServer:
    model_server.responder = review_answer
    return model_server


def check(
    tree: Path, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `lspilot check ARGS` in `tree`."""
    return subprocess.run(
        [*LSPILOT, "check", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_text_report_exit_code_and_what_was_sent(
    tree: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    result = check(tree, model_env, ".")
    assert result.returncode == 1, result.stderr  # an error-level issue, --fail-on error
    lines = result.stdout.splitlines()
    assert (
        "pkg/orders.py:13:9: warning: Use `+=`, or sum() for the whole loop."
        " (fixable: the json and sarif reports carry the fix)"
    ) in lines
    assert "pkg/orders.py:14:5: error: The discount can exceed the total." in lines
    assert any(
        line.startswith("skipped secrets/keys.py: ") and "privacy.exclude" in line for line in lines
    )
    assert lines[-1].startswith("2 issues (1 error, 1 warning) in 3 files — 6 of 6 chunks")
    sent = fake.all_prompt_text()
    # .gitignore'd files and privacy-excluded files never reach the model.
    assert "def generated" not in sent and "def built" not in sent
    assert "not-a-real-token" not in sent
    assert "def shout" in sent and "def average" in sent
    assert len(fake.chat_requests()) == 6
    assert "Traceback" not in result.stderr
    # Not a terminal: plain progress lines on stderr, never on stdout.
    assert "lspilot check: 3 files, 6 chunks to review" in result.stderr


def test_second_run_is_served_from_the_cache(
    tree: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    first = check(tree, model_env, ".", "--format", "json")
    sent = len(fake.chat_requests())
    second = check(tree, model_env, ".", "--format", "json")
    assert len(fake.chat_requests()) == sent  # no new model request
    before, after = json.loads(first.stdout), json.loads(second.stdout)
    assert after["files"] == before["files"]
    assert after["summary"]["modelCalls"] == 0
    assert after["summary"]["fromCache"] == after["summary"]["chunks"] == 6


def test_json_report(tree: Path, model_env: dict[str, str], fake: FakeModelServer) -> None:
    result = check(tree, model_env, ".", "--format", "json", "--fail-on", "never")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["engine"] == "openai" and report["model"] == "test-model"
    assert {f["path"] for f in report["files"]} == REVIEWED_FILES
    orders = next(f for f in report["files"] if f["path"] == "pkg/orders.py")
    assert orders["complete"] is True
    assert orders["issues"] == [
        {
            "line": 13,
            "column": 9,
            "endLine": 13,
            "endColumn": 32,
            "severity": "warning",
            "message": "Use `+=`, or sum() for the whole loop.",
            "fix": "result += price",
            "chunk": "total",
        },
        {
            "line": 14,
            "column": 5,
            "endLine": 14,
            "endColumn": 29,
            "severity": "error",
            "message": "The discount can exceed the total.",
            "fix": None,
            "chunk": "total",
        },
    ]
    assert report["skipped"] == [
        {
            "path": "secrets/keys.py",
            "reason": "secrets/keys.py matches the privacy.exclude pattern `**/secrets/**`.",
        }
    ]
    assert report["summary"]["issues"] == 2 and report["summary"]["error"] == 1


def test_sarif_report_is_valid_sarif_2_1_0(
    tree: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    result = check(tree, model_env, ".", "--format", "sarif", "-o", "out.sarif")
    assert result.returncode == 1
    assert result.stdout == ""  # the report went to the file
    log = json.loads((tree / "out.sarif").read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(log, schema, format_checker=jsonschema.FormatChecker())
    official = json.loads(SARIF_OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(official, format_checker=jsonschema.FormatChecker()).validate(log)
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "lspilot"
    assert run["columnKind"] == "unicodeCodePoints"
    levels = sorted(r["level"] for r in run["results"])
    assert levels == ["error", "warning"]
    warning = next(r for r in run["results"] if r["level"] == "warning")
    location = warning["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pkg/orders.py", "uriBaseId": "SRCROOT"}
    assert location["region"] == {"startLine": 13, "startColumn": 9, "endLine": 13, "endColumn": 32}
    replacement = warning["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"] == {"text": "result += price"}
    assert run["invocations"][0]["executionSuccessful"] is True


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((".",), 1),  # an error, default --fail-on error
        ((".", "--fail-on", "warning"), 1),
        ((".", "--fail-on", "never"), 0),
        (("pkg/notes.py", "--fail-on", "warning"), 0),  # no issue in that file
        (("no/such/file.py",), 2),
    ],
)
def test_exit_codes(
    tree: Path, model_env: dict[str, str], fake: FakeModelServer, args: tuple[str, ...], code: int
) -> None:
    result = check(tree, model_env, *args)
    assert result.returncode == code, result.stdout + result.stderr
    if code == 2:
        assert result.stderr.strip() == (
            "lspilot check: error: no such file or folder: no/such/file.py"
        )


def test_refused_key_is_one_clear_error(
    tree: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    fake.script(Reply(status=401))
    result = check(tree, model_env, "pkg/orders.py")
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "refused the API key" in errors[0]
    assert "test-key-not-a-secret" not in result.stdout + result.stderr


def test_explicit_gitignored_file_is_reviewed_but_excluded_file_is_not(
    tree: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    result = check(tree, model_env, "copied/out.py", "secrets/keys.py", "README.txt")
    assert result.returncode == 0, result.stderr
    assert "def built" in fake.all_prompt_text()  # named on the command line: reviewed
    assert "not-a-real-token" not in fake.all_prompt_text()
    assert "skipped README.txt: not a language lspilot reviews" in result.stdout


def test_offline_engine_needs_no_model(tree: Path, offline_env: dict[str, str]) -> None:
    result = check(tree, offline_env, "pkg", "--format", "json")
    report = json.loads(result.stdout)
    assert report["engine"] == "offline"
    orders = next(f for f in report["files"] if f["path"] == "pkg/orders.py")
    messages = [i["message"] for i in orders["issues"]]
    assert "The docstring of `total` documents `rate`, which is not a parameter." in messages
    assert report["summary"]["modelCalls"] == 0


def test_interrupt_keeps_what_was_reviewed(
    tree: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    env = {**model_env, "LSPILOT_LIMITS__MAX_CONCURRENT": "1"}
    empty = json.dumps({"issues": []})
    fake.script(empty, empty, Reply(stall=True))
    proc = subprocess.Popen(
        [*LSPILOT, "check", "."],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The third request stalls: two answers are in, one is in flight. Ctrl-C now.
        assert fake.wait_for_requests(3, timeout=60)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: what was reviewed is cached" in out
    assert "Traceback" not in err
    # Run again: only the four chunks not answered before go to the model.
    result = check(tree, env, ".")
    assert result.returncode == 1
    assert len(fake.chat_requests()) == 3 + 4


def test_help_has_examples() -> None:
    result = subprocess.run(
        [*LSPILOT, "check", "--help"], capture_output=True, text=True, check=True
    )
    assert "examples:" in result.stdout
    assert "--format {text,json,sarif}" in result.stdout
    assert "--fail-on {error,warning,never}" in result.stdout
