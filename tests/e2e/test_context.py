"""Workspace context, end to end: what the model receives about the code a task uses.

A fixture workspace where `checkout` (shop/main.py) calls helpers defined in two other files
(shop/text.py, shop/money.py) and one in a file `.lspilotignore` excludes (shop/vault.py).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path
from tests.e2e.conftest import WAIT_TIMEOUT, LspilotClient, lsp_session, wait_for
from tests.e2e.conftest import hover_text as hover_on
from tests.fakes.model_server import FakeModelServer

MAIN = '''import json
from shop.text import slugify
from shop import money
from shop.vault import vault_key

CURRENCY = "EUR"


def checkout(title: str, cents: int) -> str:
    """The receipt line of one purchase."""
    return slugify(title) + " " + money.format_price(cents, CURRENCY) + vault_key()


def other(n: int) -> int:
    """Twice n."""
    return n * 2
'''

TEXT = '''def slugify(value: str, sep: str = "-") -> str:
    """Turn a title into a URL slug."""
    return value.lower().replace(" ", sep)  # SLUGIFY_BODY


def unrelated_text_helper() -> str:
    """UNRELATED_TEXT_DOC"""
    return "UNRELATED_TEXT_BODY"
'''

MONEY = '''def format_price(cents: int, currency: str = "EUR") -> str:
    """Format cents as a price, e.g. 12.50 EUR."""
    return f"{cents / 100:.2f} {currency}"  # FORMAT_BODY


class Ledger:
    """UNRELATED_LEDGER_DOC"""
'''

INDEX_2000_TIMEOUT = 300.0

VAULT = '''def vault_key() -> str:
    """EXCLUDED_VAULT_DOC"""
    return "EXCLUDED_VAULT_BODY"
'''


def lay_out_shop(workspace: Path, main: str) -> Path:
    """The fixture workspace with `main` as shop/main.py (test_context_generate_review.py
    lays out its own main.py beside the same helpers)."""
    package = workspace / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in (("main", main), ("text", TEXT), ("money", MONEY), ("vault", VAULT)):
        (package / f"{name}.py").write_text(text)
    (workspace / ".lspilotignore").write_text("shop/vault.py\n")
    return workspace


@pytest.fixture
def shop(workspace: Path) -> Path:
    """The fixture workspace."""
    return lay_out_shop(workspace, MAIN)


@pytest.fixture
def model_env(quiet_model_env: dict[str, str]) -> dict[str, str]:
    """Review diagnostics off: every model request these tests count is a hover's."""
    return quiet_model_env


async def index_ready(client: LspilotClient, timeout: float = WAIT_TIMEOUT) -> dict[str, Any]:  # noqa: ASYNC109
    """Wait until the status says the workspace index is built."""
    return await client.wait_for_status(
        lambda s: bool((s.get("context") or {}).get("ready")), timeout=timeout
    )


async def test_the_prompt_holds_the_helpers_signatures_and_docstrings_only(
    shop: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    async with lsp_session(env=model_env, workspace=shop) as client:
        await index_ready(client)
        uri = client.open_doc(shop / "shop/main.py", MAIN)
        await hover_on(client, uri, "checkout(title")
        [request] = model_server.chat_requests()
        sent = model_server.prompt_text(request)
        # The imports and module-level names it uses, then the helpers from two other files.
        assert "from shop.text import slugify" in sent
        assert 'CURRENCY = "EUR"' in sent
        assert 'def slugify(value: str, sep: str = "-") -> str:' in sent
        assert "Turn a title into a URL slug." in sent
        assert 'def format_price(cents: int, currency: str = "EUR") -> str:' in sent
        assert "Format cents as a price, e.g. 12.50 EUR." in sent
        # Not their bodies, not unrelated code, never the excluded file.
        for absent in ("SLUGIFY_BODY", "FORMAT_BODY", "UNRELATED", "EXCLUDED_VAULT", "Twice n"):
            assert absent not in sent, absent


async def test_excluded_files_never_reach_any_prompt(
    shop: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    async with lsp_session(env=model_env, workspace=shop) as client:
        await index_ready(client)
        uri = client.open_doc(shop / "shop/main.py", MAIN)
        # The excluded file open in the editor too: its text must not enter the index.
        vault_uri = client.open_doc(shop / "shop/vault.py", VAULT)
        await hover_on(client, uri, "checkout(title")
        await hover_on(client, uri, "vault_key()")
        await hover_on(client, vault_uri, "vault_key(")  # no model features there
        assert model_server.chat_requests()
        assert "EXCLUDED_VAULT" not in model_server.all_prompt_text()


async def test_a_small_budget_cuts_the_least_relevant_context_first(
    shop: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    # Room for the imports and module-level names, not for the other files' helpers.
    env = {**model_env, "LSPILOT_CONTEXT__MAX_TOKENS": "40"}
    async with lsp_session(env=env, workspace=shop) as client:
        await index_ready(client)
        uri = client.open_doc(shop / "shop/main.py", MAIN)
        await hover_on(client, uri, "checkout(title")
        sent = model_server.prompt_text(model_server.chat_requests()[0])
        assert "from shop.text import slugify" in sent
        assert "def slugify" not in sent and "def format_price" not in sent


async def test_a_helpers_new_signature_invalidates_exactly_its_dependents(
    shop: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    async with lsp_session(env=model_env, workspace=shop) as client:
        await index_ready(client)
        uri = client.open_doc(shop / "shop/main.py", MAIN)
        await hover_on(client, uri, "checkout(title")
        await hover_on(client, uri, "other(n")
        assert len(model_server.chat_requests()) == 2
        # Cached: hovering again asks nothing.
        await hover_on(client, uri, "checkout(title")
        await hover_on(client, uri, "other(n")
        assert len(model_server.chat_requests()) == 2

        # The helper's signature changes in the editor (didChange; never saved).
        text_uri = client.open_doc(shop / "shop/text.py", TEXT)
        client.change_doc(text_uri, TEXT.replace('sep: str = "-"', 'sep: str = "_"'))
        await hover_on(client, uri, "other(n")  # does not use slugify: still cached
        assert len(model_server.chat_requests()) == 2
        await hover_on(client, uri, "checkout(title")  # uses it: asked again
        assert len(model_server.chat_requests()) == 3
        assert 'sep: str = "_"' in model_server.prompt_text(model_server.chat_requests()[2])

        # A body-only edit of the other helper changes nothing the explanation relied on.
        money_path = shop / "shop/money.py"
        money_path.write_text(MONEY.replace("# FORMAT_BODY", "# reworded body"))
        changed_on_disk(client, money_path)
        await hover_on(client, uri, "checkout(title")
        assert len(model_server.chat_requests()) == 3

        # Its signature on disk changes (a `git checkout`, another editor): asked again.
        money_path.write_text(MONEY.replace("cents: int,", "cents: float,"))
        changed_on_disk(client, money_path)
        await wait_for_index_has(client, "cents: float")
        await hover_on(client, uri, "checkout(title")
        assert len(model_server.chat_requests()) == 4
        assert "cents: float" in model_server.prompt_text(model_server.chat_requests()[3])


GO_MAIN = """package shop

// Total is the price of n items.
func Total(n int) int {
\treturn Scale(n, 3)
}
"""

GO_UTIL = """package shop

// Scale multiplies a count by a unit price.
func Scale(count int, unit int) int {
\treturn count * unit // SCALE_BODY
}
"""


def changed_on_disk(client: LspilotClient, path: Path) -> None:
    """Tell the server `path` changed on disk (as a file watcher would)."""
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=from_fs_path(str(path)), type=types.FileChangeType.Changed)
            ]
        )
    )


async def test_a_go_helpers_new_signature_on_disk_reaches_the_next_prompt(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    # Go has no imports to resolve a call through: the index finds `Scale` by its name.
    (workspace / "main.go").write_text(GO_MAIN)
    util = workspace / "util.go"
    util.write_text(GO_UTIL)
    async with lsp_session(env=model_env, workspace=workspace) as client:
        await index_ready(client)
        # The watcher asked of the client covers Go files, not only Python and JavaScript.
        watch = await wait_for(
            lambda: next(
                (
                    r.register_options
                    for r in client.registrations
                    if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
                ),
                None,
            ),
            client=client,
            what="the watched-files registration",
        )
        [watcher] = watch["watchers"]  # as the client received it: plain JSON
        glob = watcher["globPattern"].replace("{", ",").replace("}", ",")
        for suffix in ("go", "ts", "tsx", "rs", "java", "c", "cpp", "py", "js"):
            assert f",{suffix}," in glob, watcher

        uri = client.open_doc(workspace / "main.go", GO_MAIN)
        await hover_on(client, uri, "Total(n")
        first = model_server.prompt_text(model_server.chat_requests()[0])
        assert "// from util.go" in first and "func Scale(count int, unit int) int" in first
        assert "Scale multiplies a count by a unit price." in first
        assert "SCALE_BODY" not in first

        util.write_text(GO_UTIL.replace("unit int) int", "unit float64) float64"))
        changed_on_disk(client, util)
        await wait_for_index_has(client, "unit float64")
        await hover_on(client, uri, "Total(n")
        assert len(model_server.chat_requests()) == 2
        again = model_server.prompt_text(model_server.chat_requests()[1])
        assert "func Scale(count int, unit float64) float64" in again
        assert "unit int) int" not in again


async def test_a_renamed_helper_is_named_by_its_new_path_in_the_next_prompt(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    (workspace / "main.go").write_text(GO_MAIN)
    (workspace / "util.go").write_text(GO_UTIL)
    async with lsp_session(env=model_env, workspace=workspace) as client:
        await index_ready(client)
        uri = client.open_doc(workspace / "main.go", GO_MAIN)
        await hover_on(client, uri, "Total(n")
        assert "// from util.go" in model_server.prompt_text(model_server.chat_requests()[0])

        # Moved in the editor's file explorer: on disk, then workspace/didRenameFiles.
        (workspace / "lib").mkdir()
        moved = workspace / "lib" / "scale.go"
        (workspace / "util.go").rename(moved)
        client.workspace_did_rename_files(
            types.RenameFilesParams(
                files=[
                    types.FileRename(
                        old_uri=from_fs_path(str(workspace / "util.go")),
                        new_uri=from_fs_path(str(moved)),
                    )
                ]
            )
        )
        await wait_for_index_has(client, "lib/scale.go")
        await hover_on(client, uri, "Total(n")
        assert len(model_server.chat_requests()) == 2
        again = model_server.prompt_text(model_server.chat_requests()[1])
        assert "// from lib/scale.go" in again and "func Scale(count int, unit int)" in again
        assert "util.go" not in again


async def test_unsaved_edits_of_a_closed_buffer_leave_the_context(
    shop: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    async with lsp_session(env=model_env, workspace=shop) as client:
        await index_ready(client)
        uri = client.open_doc(shop / "shop/main.py", MAIN)
        text_uri = client.open_doc(shop / "shop/text.py", TEXT)
        client.change_doc(text_uri, TEXT.replace('sep: str = "-"', 'sep: str = "_"'))
        await hover_on(client, uri, "checkout(title")
        assert 'sep: str = "_"' in model_server.prompt_text(model_server.chat_requests()[0])

        # Closed without saving: what the disk says is what the code relies on again.
        client.close_doc(text_uri)
        await hover_on(client, uri, "checkout(title")
        assert len(model_server.chat_requests()) == 2
        again = model_server.prompt_text(model_server.chat_requests()[1])
        assert 'def slugify(value: str, sep: str = "-") -> str:' in again
        assert 'sep: str = "_"' not in again


async def wait_for_index_has(client: LspilotClient, text: str) -> None:
    """didChangeWatchedFiles is a notification: wait until the stored index shows the change."""
    cache = Path(client_env_cache(client))

    def found() -> bool:
        return any(text in p.read_text() for p in (cache / "index").glob("*.json"))

    await wait_for(found, what=f"index containing {text!r}")


def client_env_cache(client: LspilotClient) -> str:
    assert client.workspace is not None
    return str(client.workspace.parent / "cache")


def module_text(p: int, m: int) -> str:
    return f'def f{m}(x: int) -> int:\n    """Helper {p}.{m}."""\n    return x + {m}\n'


def index_progress(client: LspilotClient) -> list[Any]:
    """The `$/progress` reports of the indexing (begin first), as received so far."""
    return next(
        (
            reports
            for reports in client.progress_reports.values()
            if reports
            and isinstance(reports[0], types.WorkDoneProgressBegin)
            and reports[0].title == "lspilot: indexing the workspace"
        ),
        [],
    )


async def test_the_index_is_built_in_the_background_with_progress_and_kept_on_disk(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    # 2,000 files in 40 packages; one of them a named pipe, so that the index cannot be
    # built until the test writes it: whatever is answered before is answered while the
    # index is being built, however fast the machine.
    for p in range(40):
        package = workspace / f"pkg{p}"
        package.mkdir()
        for m in range(50):
            (package / f"mod{m}.py").write_text(module_text(p, m))
    held = workspace / "pkg20" / "mod7.py"
    held.unlink()
    os.mkfifo(held)

    def release() -> None:
        with held.open("w") as pipe:  # blocks until the indexer opens it: it is reading
            pipe.write(module_text(20, 7))

    # Review on: the first review of the document opened waits (bounded) for the index.
    env = {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "true"}
    # A document of its own (outside the folder, so the index counts stay the workspace's).
    scratch = workspace.parent / "scratch" / "calc.py"
    async with lsp_session(env=env, workspace=workspace, work_done_progress=True) as client:
        try:
            uri = client.open_doc(scratch, "def twice(n):\n    return n * 2\n")
            await hover_on(client, uri, "twice(n")
            # Answered while the index is held mid-build: begun, not ended, never ready.
            progress = index_progress(client)
            assert progress and not any(
                isinstance(r, types.WorkDoneProgressEnd) for r in progress
            ), progress
            assert not any((s.get("context") or {}).get("ready") for s in client.statuses)
        finally:
            await asyncio.to_thread(release)  # never leave the indexer blocked
        # A hang guard for a busy CI machine, not a speed requirement.
        status = await index_ready(client, timeout=INDEX_2000_TIMEOUT)
        assert status["context"]["files"] == 2000
        assert status["context"]["parsed"] == 2000
        assert isinstance(index_progress(client)[-1], types.WorkDoneProgressEnd)
    held.unlink()
    held.write_text(module_text(20, 7))  # a plain file again, the same text
    stored = list((workspace.parent / "cache" / "index").glob("*.json"))
    assert len(stored) == 1 and len(json.loads(stored[0].read_text())["files"]) == 2000

    # The next session reuses what is stored: nothing is parsed again.
    (workspace / "pkg0" / "mod0.py").write_text("def changed() -> None:\n    pass\n")
    async with lsp_session(env=model_env, workspace=workspace) as client:
        status = await index_ready(client, timeout=INDEX_2000_TIMEOUT)
        assert status["context"]["files"] == 2000
        assert (status["context"]["reused"], status["context"]["parsed"]) == (1999, 1)


async def test_files_watched_only_when_the_client_allows_dynamic_registration(
    shop: Path, model_env: dict[str, str], client_name: str
) -> None:
    async with lsp_session(client_name, env=model_env, workspace=shop) as client:
        await index_ready(client)
        # VS Code's recorded capabilities allow it, Neovim's do not (the conftest's spec
        # check fails the session if we register where it is not allowed).
        allowed = client_name == "visual-studio-code"
        await wait_for(
            lambda: (
                not allowed
                or any(
                    r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
                    for r in client.registrations
                )
            ),
            client=client,
            what="the watched-files registration",
        )
        methods = [r.method for r in client.registrations]
        assert (types.WORKSPACE_DID_CHANGE_WATCHED_FILES in methods) == allowed
