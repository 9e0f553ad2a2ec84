"""`lspilot check PATH...`: the editor's review diagnostics, from the command line.

Runs exactly the review the diagnostics feature runs (the same chunks, review inputs,
anchoring, severity floor and per-chunk limit, through the same assistant and disk cache), so
a file reviewed in the editor costs nothing here and the other way round. Each chunk's answer
is cached as it lands: Ctrl-C keeps everything already reviewed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lspilot.cli.check.report import CheckReport, render_json, render_sarif, render_text, shown_path
from lspilot.cli.common import (
    add_root_argument,
    cli_logging,
    epilog,
    load,
    workspace_root,
)

if TYPE_CHECKING:
    from lspilot.context import WorkspaceContext
    from lspilot.privacy import Privacy
    from lspilot.settings import Settings

EPILOG = epilog(
    """
    examples:
      lspilot check src/                        review every file under src/
      lspilot check app.py --fail-on warning    exit 1 on any warning or error
      lspilot check . --format sarif -o lspilot.sarif   for GitHub code scanning
      lspilot check . --format json | jq '.summary'
      LSPILOT_PROVIDER=offline lspilot check .  docstring checks only, nothing sent

    Folders are walked honouring .gitignore (and skipping .git, virtualenvs, node_modules);
    files matching privacy.exclude or .lspilotignore are never sent. Answers are cached
    with the editor's: a second run reviews only what changed.

    exit status: 0 no issue at the --fail-on level, 1 issues at that level, 2 the review
    could not run (a path is missing, the model endpoint failed), 130 interrupted (what was
    reviewed stays cached).
    """
)

FORMATS = {"text": render_text, "json": render_json, "sarif": render_sarif}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lspilot check`."""
    parser.epilog = EPILOG
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    parser.add_argument(
        "--format", choices=tuple(FORMATS), default="text", help="report format (default: text)"
    )
    parser.add_argument(
        "--fail-on",
        choices=("error", "warning", "never"),
        default="error",
        help="exit 1 when an issue of this severity or worse is found (default: error)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the report to FILE, not stdout"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar or progress lines"
    )
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Collect the files, review them, write the report; the exit status says what was found."""
    from lspilot.cli.check.files import select
    from lspilot.privacy import Privacy
    from lspilot.syntax import language_of

    cli_logging("check", args.verbose, args.log_file)
    root = workspace_root(args)
    loaded = load(root)
    for problem in loaded.problems:
        sys.stderr.write(f"lspilot check: warning: {problem.message}\n")
    settings = loaded.settings
    privacy = Privacy(settings.privacy, root)
    selection = select(args.paths, privacy.excluded, language_of)
    if selection.missing:
        missing = ", ".join(str(p) for p in selection.missing)
        sys.stderr.write(f"lspilot check: error: no such file or folder: {missing}\n")
        return 2
    base = Path.cwd()
    report = CheckReport(skipped=[(shown_path(p, base), r) for p, r in selection.skipped])
    show_progress = not args.no_progress
    try:
        asyncio.run(_review(selection.files, settings, root, base, report, show_progress, privacy))
    except KeyboardInterrupt:
        report.interrupted = True
    _write(FORMATS[args.format](report), args.output)
    if report.interrupted:
        return 130
    if report.errors:
        return 2
    return 1 if report.fails(args.fail_on) else 0


async def _review(
    files: list[Path],
    settings: Settings,
    root: Path,
    base: Path,
    report: CheckReport,
    show_progress: bool,
    privacy: Privacy | None = None,
) -> None:
    """Review `files` into `report`; a cancellation (Ctrl-C) ends it with what is done."""
    from lspilot.assistant import create_assistant
    from lspilot.assistant.tasks import Task
    from lspilot.cli.check.progress import make_progress
    from lspilot.cli.check.run import CheckRun

    _cancel_on_ctrl_c()
    assistant = await create_assistant(settings, root)
    report.engine = assistant.engine.id
    report.model = assistant.engine.model_for(Task.REVIEW)
    workspace = await asyncio.to_thread(_workspace, settings, root, privacy)
    check = CheckRun(assistant, settings, base, report, workspace)
    check.plan(files)
    progress = make_progress(
        sys.stderr, enabled=show_progress, total=report.chunks, files=len(check.docs)
    )
    try:
        with progress:
            await check.review(progress)
    except asyncio.CancelledError:
        # Ctrl-C: every answer that arrived is already in the disk cache (the assistant
        # stores each one before handing it over); report what is known and stop.
        report.interrupted = True
    finally:
        check.finish()
        await assistant.aclose()


def _workspace(settings: Settings, root: Path, privacy: Privacy | None) -> WorkspaceContext | None:
    """The editor's workspace context (its stored index, brought up to date), so the review
    inputs, and so the cache keys, are the editor's: each chunk's context holds what it
    calls from other files."""
    if not settings.context.enabled or privacy is None:
        return None
    from lspilot.assistant.cache import default_cache_dir
    from lspilot.context import WorkspaceContext

    cache = Path(settings.cache.dir).expanduser() if settings.cache.dir else default_cache_dir()
    workspace = WorkspaceContext(root, cache / "index", privacy.excluded, settings.context)
    workspace.build_index()
    return workspace


def _cancel_on_ctrl_c() -> None:
    """Make Ctrl-C cancel the current task at once.

    asyncio.run's own SIGINT handler is a plain Python handler: when the kernel delivers the
    signal to one of the worker threads (cache I/O, DNS), nothing wakes the event loop, and
    Ctrl-C waits for the next timer (up to the request timeout). A loop signal handler sets
    the wakeup fd, so the loop wakes whichever thread got the signal.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is None:
        return
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, task.cancel)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.write_text(text, encoding="utf-8")
