"""The report of `lspilot doctor`: levels, findings, sections, the verdict.

A leaf module: the checks import it, it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"

SETTINGS = "Settings"

#: Variables that hold the API key, in the order load_settings lets them win.
KEY_VARIABLES = ("LSPILOT_API_KEY", "OPENAI_API_KEY")


@dataclass
class Finding:
    """One line of the report: a level, what is the case, and how to fix it (problems)."""

    level: str
    text: str
    fix: str = ""


@dataclass
class Section:
    """A heading with plain lines (tables) and findings."""

    title: str
    lines: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, text: str, fix: str = "") -> Finding:
        """Record a finding."""
        finding = Finding(level, text, fix)
        self.findings.append(finding)
        return finding


@dataclass
class Report:
    """Every section, plus what the verdict needs."""

    root: Path
    engine: str = ""
    model: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        """A new section, appended."""
        section = Section(title)
        self.sections.append(section)
        return section

    def _at(self, level: str) -> list[Finding]:
        return [f for s in self.sections for f in s.findings if f.level == level]

    def failures(self) -> list[Finding]:
        """Problems that make the command fail."""
        return self._at(FAIL)

    def warnings(self) -> list[Finding]:
        """Problems that do not stop the engine."""
        return self._at(WARN)

    def verdict(self) -> str:
        """The last line: does the configured engine work?"""
        fails, warns = len(self.failures()), len(self.warnings())
        engine_fails = [
            f for s in self.sections if s.title != SETTINGS for f in s.findings if f.level == FAIL
        ]
        plural = "s" if fails != 1 else ""
        if engine_fails:
            return (
                f"{fails} problem{plural} to fix: the {self.engine} engine cannot work"
                " as configured."
            )
        if fails:
            return (
                f"{fails} settings problem{plural} to fix: those values were ignored"
                f" (the {self.engine} engine works with the rest)."
            )
        extra = f" ({warns} warning{'s' if warns != 1 else ''})" if warns else ""
        if self.engine == "offline":
            return f"lspilot works, offline: no model is configured{extra}."
        return f"lspilot works: the {self.engine} engine with {self.model}{extra}."

    def as_json(self) -> dict[str, Any]:
        """The report as JSON data."""
        return {
            "root": str(self.root),
            "engine": self.engine,
            "model": self.model,
            "ok": not self.failures(),
            "verdict": self.verdict(),
            "sections": [
                {
                    "title": s.title,
                    "lines": s.lines,
                    "findings": [f.__dict__ for f in s.findings],
                }
                for s in self.sections
            ],
        }
