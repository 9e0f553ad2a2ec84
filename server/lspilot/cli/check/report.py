"""What `lspilot check` found, and its three renderings: text, JSON and SARIF 2.1.0.

Positions are 1-based lines and 1-based columns counted in Unicode code points (what Python
string offsets are); SARIF says so with ``columnKind: unicodeCodePoints``. Paths are shown
relative to the folder `check` ran in when they are inside it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lspilot import __version__

SEVERITY_RANK = {"error": 0, "warning": 1, "information": 2, "hint": 3}
SARIF_LEVELS = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULE_ID = "lspilot/review"
INFORMATION_URI = "https://github.com/lspilot/lspilot"


@dataclass(frozen=True)
class Issue:
    """One review issue at a place in a file."""

    line: int
    column: int
    end_line: int
    end_column: int
    severity: str
    message: str
    fix: str | None = None
    chunk: str | None = None


@dataclass
class FileResult:
    """The issues of one file (`path` as shown), and whether all its chunks were reviewed."""

    path: str
    issues: list[Issue] = field(default_factory=list)
    complete: bool = True


@dataclass
class CheckReport:
    """Everything a run of `lspilot check` has to say."""

    engine: str = ""
    model: str = ""
    files: list[FileResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the review could not run (exit 2)
    notes: list[str] = field(default_factory=list)  # chunks skipped, issues dropped
    chunks: int = 0
    reviewed: int = 0
    from_cache: int = 0
    model_calls: int = 0
    interrupted: bool = False

    def issues(self) -> list[tuple[FileResult, Issue]]:
        """Every issue with its file, in file then position order."""
        return [(f, i) for f in self.files for i in f.issues]

    def count(self, severity: str) -> int:
        """Issues of exactly `severity`."""
        return sum(1 for _, issue in self.issues() if issue.severity == severity)

    def fails(self, fail_on: str) -> bool:
        """Whether an issue at or above `fail_on` (error, warning; never) was found."""
        if fail_on == "never":
            return False
        ceiling = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[i.severity] <= ceiling for _, i in self.issues())


def shown_path(path: Path, base: Path) -> str:
    """`path` relative to `base` when inside it (posix separators), else absolute."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


# ---- text -------------------------------------------------------------------------------


def render_text(report: CheckReport) -> str:
    """`path:line:col: severity: message` lines (what editors' problem matchers read)."""
    out: list[str] = []
    for file, issue in report.issues():
        out.append(
            f"{file.path}:{issue.line}:{issue.column}: {issue.severity}: {issue.message}"
            + (" (fixable: the json and sarif reports carry the fix)" if issue.fix else "")
        )
    for path, reason in report.skipped:
        out.append(f"skipped {path}: {reason}")
    out.extend(f"note: {note}" for note in report.notes)
    out.extend(f"error: {error}" for error in report.errors)
    out.append(summary(report))
    return "\n".join(out) + "\n"


def summary(report: CheckReport) -> str:
    """One closing sentence: counts, cache use, engine."""
    issues = len(report.issues())
    parts = [f"{issues} issue{'s' if issues != 1 else ''}"]
    by_severity = [f"{report.count(s)} {s}" for s in SEVERITY_RANK if report.count(s)]
    if by_severity:
        parts[0] += f" ({', '.join(by_severity)})"
    files = len(report.files)
    parts.append(f"in {files} file{'s' if files != 1 else ''}")
    tail = (
        f"{report.reviewed} of {report.chunks} chunks reviewed, {report.from_cache} from the"
        f" cache, {report.model_calls} model calls; engine {report.engine}"
        + (f", model {report.model}" if report.engine != "offline" else "")
    )
    text = " ".join(parts) + f" — {tail}"
    if report.interrupted:
        text += " — interrupted: what was reviewed is cached; run again to finish"
    return text


# ---- JSON -------------------------------------------------------------------------------


def render_json(report: CheckReport) -> str:
    """The whole report as one JSON document."""
    data: dict[str, Any] = {
        "version": __version__,
        "engine": report.engine,
        "model": report.model,
        "files": [
            {
                "path": f.path,
                "complete": f.complete,
                "issues": [_issue_json(i) for i in f.issues],
            }
            for f in report.files
        ],
        "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
        "errors": report.errors,
        "notes": report.notes,
        "summary": {
            "issues": len(report.issues()),
            **{s: report.count(s) for s in SEVERITY_RANK},
            "files": len(report.files),
            "chunks": report.chunks,
            "reviewed": report.reviewed,
            "fromCache": report.from_cache,
            "modelCalls": report.model_calls,
            "interrupted": report.interrupted,
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _issue_json(issue: Issue) -> dict[str, Any]:
    data = asdict(issue)
    data["endLine"] = data.pop("end_line")
    data["endColumn"] = data.pop("end_column")
    return data


# ---- SARIF 2.1.0 --------------------------------------------------------------------------


def render_sarif(report: CheckReport) -> str:
    """A SARIF 2.1.0 log with one run; fixes as SARIF fixes (replacement of the quote)."""
    results = [_sarif_result(file, issue) for file, issue in report.issues()]
    notifications = [{"level": "error", "message": {"text": e}} for e in report.errors]
    notifications += [{"level": "warning", "message": {"text": n}} for n in report.notes]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "lspilot",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [
                    {
                        "id": RULE_ID,
                        "name": "LlmReview",
                        "shortDescription": {"text": "An issue found by lspilot's code review."},
                        "fullDescription": {
                            "text": "A review of each definition by the configured engine "
                            f"({report.engine}), anchored by the code it quotes."
                        },
                        "defaultConfiguration": {"level": "warning"},
                    }
                ],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not report.errors and not report.interrupted,
                "toolExecutionNotifications": notifications,
            }
        ],
        "originalUriBaseIds": {"SRCROOT": {"uri": Path.cwd().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _artifact(path: str) -> dict[str, str]:
    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": path, "uriBaseId": "SRCROOT"}


def _sarif_result(file: FileResult, issue: Issue) -> dict[str, Any]:
    region = {
        "startLine": issue.line,
        "startColumn": issue.column,
        "endLine": issue.end_line,
        "endColumn": issue.end_column,
    }
    result: dict[str, Any] = {
        "ruleId": RULE_ID,
        "ruleIndex": 0,
        "level": SARIF_LEVELS[issue.severity],
        "message": {"text": issue.message},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": _artifact(file.path), "region": region},
                **({"logicalLocations": [{"name": issue.chunk}]} if issue.chunk else {}),
            }
        ],
    }
    if issue.fix is not None:
        result["fixes"] = [
            {
                "description": {"text": "Replace the quoted code (lspilot's suggestion)."},
                "artifactChanges": [
                    {
                        "artifactLocation": _artifact(file.path),
                        "replacements": [
                            {"deletedRegion": region, "insertedContent": {"text": issue.fix}}
                        ],
                    }
                ],
            }
        ]
    return result
