"""`lspilot doctor`: check the setup the way the server would use it, and say how to fix it.

Peers fail silently ("no code actions available"); this command names every problem on one
line with the command or setting that fixes it, and exits non-zero when the configured engine
cannot work. The checks themselves live in `lspilot.cli.doctor.checks`; this module runs them and
prints the report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import IO

from lspilot.cli.common import add_root_argument, epilog, is_terminal, load, workspace_root
from lspilot.cli.doctor.checks import diagnose
from lspilot.cli.doctor.report import FAIL, INFO, OK, WARN, Finding, Report

EPILOG = epilog(
    """
    examples:
      lspilot doctor                      check everything for the current folder
      lspilot doctor --root ~/src/app     as an editor opening ~/src/app would see it
      lspilot doctor --file .env          also say whether a file is kept from the model
      lspilot doctor --no-probe           no request to the model endpoint
      lspilot doctor --json               the report as JSON

    exit status: 0 when the configured engine works (warnings allowed), 1 when it cannot
    work or a setting is invalid. Nothing secret is printed: the API key is only said to be
    set, and from which variable.
    """
)

_MARKS = {OK: "ok", INFO: "--", WARN: "warn", FAIL: "FAIL"}
_COLOURS = {OK: "32", INFO: "2", WARN: "33", FAIL: "31;1"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lspilot doctor`."""
    parser.epilog = EPILOG
    add_root_argument(parser)
    parser.add_argument(
        "--file",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="say whether PATH gets model features (repeatable)",
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="do not contact the model endpoint (no model list, no test completion)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Run every check, print the report; 1 when the engine cannot work."""
    if not args.verbose:
        # Everything worth saying is in the report; the library's own log lines (e.g. the
        # plain-http warning) would only repeat it out of order.
        logging.getLogger("lspilot").addHandler(logging.NullHandler())
        logging.getLogger("lspilot").propagate = False
    root = workspace_root(args)
    loaded = load(root)
    report = asyncio.run(diagnose(loaded, root, files=list(args.file), probe=not args.no_probe))
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report, sys.stdout)
    return 1 if report.failures() else 0


def print_report(report: Report, stream: IO[str]) -> None:
    """The report as sections of one-line findings; colour only on a terminal."""
    colour = is_terminal(stream)

    def paint(code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    stream.write(f"lspilot doctor for {report.root}\n")
    for section in report.sections:
        stream.write("\n" + paint("1", section.title) + "\n")
        for line in section.lines:
            stream.write(f"  {line}\n")
        for finding in section.findings:
            mark = paint(_COLOURS[finding.level], f"{_MARKS[finding.level]:<4}")
            stream.write(f"  {mark}  {_one_line(finding)}\n")
    problems = report.failures() + report.warnings()
    stream.write("\n")
    if problems:
        stream.write(paint("1", f"Problems ({len(problems)})") + "\n")
        for finding in problems:
            mark = paint(_COLOURS[finding.level], f"{_MARKS[finding.level]:<4}")
            stream.write(f"  {mark}  {_one_line(finding)}\n")
        stream.write("\n")
    stream.write(report.verdict() + "\n")


def _one_line(finding: Finding) -> str:
    """What is wrong, and after a dash the fix: one line, whatever the message held."""
    text = " ".join(finding.text.split())
    if finding.fix:
        text += " — fix: " + " ".join(finding.fix.split())
    return text
