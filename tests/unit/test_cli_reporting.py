"""The check report's renderings: positions, exit logic, JSON and SARIF 2.1.0 validity."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from lspilot.cli.check.report import (
    CheckReport,
    FileResult,
    Issue,
    render_json,
    render_sarif,
    render_text,
    shown_path,
)
from lspilot.positions import LineIndex

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parent.parent / "fixtures" / "sarif-2.1.0-subset.schema.json"
    ).read_text(encoding="utf-8")
)
# The official SARIF 2.1.0 schema, from npm @microsoft/jest-sarif (`make sarif-schema`).
OFFICIAL = jsonschema.Draft4Validator(
    json.loads(
        (
            Path(__file__).resolve().parent.parent / "fixtures" / "sarif-2.1.0-rtm.5.schema.json"
        ).read_text(encoding="utf-8")
    ),
    format_checker=jsonschema.FormatChecker(),
)


def report(*severities: str, **kw: object) -> CheckReport:
    issues = [
        Issue(i + 1, 1, i + 1, 5, severity, f"{severity} here", "x = 1" if i == 0 else None, "f")
        for i, severity in enumerate(severities)
    ]
    return CheckReport(
        engine="openai",
        model="m",
        files=[FileResult("pkg/a.py", issues)],
        **kw,  # type: ignore[arg-type]
    )


def test_line_index_counts_code_points() -> None:
    text = "a = '🙂'\nb = 'café'  # x\n"
    index = LineIndex(text)
    assert index.line_column(0) == (1, 1)
    assert index.line_column(text.index("'", 5)) == (1, 7)  # the emoji is one column
    assert index.line_column(text.index("#")) == (2, 13)
    assert index.line_column(len(text)) == (3, 1)


@pytest.mark.parametrize(
    ("severities", "fail_on", "fails"),
    [
        (("warning",), "error", False),
        (("warning",), "warning", True),
        (("error",), "warning", True),
        (("information", "hint"), "warning", False),
        (("error",), "never", False),
        ((), "warning", False),
    ],
)
def test_fail_on(severities: tuple[str, ...], fail_on: str, fails: bool) -> None:
    assert report(*severities).fails(fail_on) is fails


def test_text_ends_with_a_summary() -> None:
    text = render_text(report("error", "hint", notes=["1 chunk: skipped"]))
    lines = text.splitlines()
    assert (
        lines[0]
        == "pkg/a.py:1:1: error: error here (fixable: the json and sarif reports carry the fix)"
    )
    assert lines[1] == "pkg/a.py:2:1: hint: hint here"
    assert lines[2] == "note: 1 chunk: skipped"
    assert lines[3].startswith("2 issues (1 error, 1 hint) in 1 file — ")


def test_json_keys_are_camel_case() -> None:
    data = json.loads(render_json(report("warning")))
    assert data["files"][0]["issues"][0] == {
        "line": 1,
        "column": 1,
        "endLine": 1,
        "endColumn": 5,
        "severity": "warning",
        "message": "warning here",
        "fix": "x = 1",
        "chunk": "f",
    }


def test_sarif_validates_with_every_kind_of_content(tmp_path: Path) -> None:
    full = report(
        "error", "warning", "information", "hint", errors=["endpoint down"], notes=["a note"]
    )
    full.files.append(FileResult(str(tmp_path / "outside.py"), [Issue(1, 1, 1, 2, "warning", "w")]))
    log = json.loads(render_sarif(full))
    jsonschema.validate(log, SCHEMA, format_checker=jsonschema.FormatChecker())
    OFFICIAL.validate(log)
    run = log["runs"][0]
    assert [r["level"] for r in run["results"]] == ["error", "warning", "note", "note", "warning"]
    assert run["results"][-1]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": (tmp_path / "outside.py").as_uri()
    }
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert [n["level"] for n in invocation["toolExecutionNotifications"]] == ["error", "warning"]


def test_sarif_schema_rejects_what_sarif_forbids() -> None:
    """The vendored subset is strict enough to catch real mistakes."""
    log = json.loads(render_sarif(report("warning")))
    log["runs"][0]["results"][0]["level"] = "information"  # not a SARIF level
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        OFFICIAL.validate(log)
    log = json.loads(render_sarif(report("warning")))
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, SCHEMA)
    log = json.loads(render_sarif(report("warning")))
    log["runs"][0]["unknownProperty"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, SCHEMA)


def test_shown_path(tmp_path: Path) -> None:
    assert shown_path(tmp_path / "a" / "b.py", tmp_path) == "a/b.py"
    assert shown_path(Path("/elsewhere/c.py"), tmp_path) == "/elsewhere/c.py"
