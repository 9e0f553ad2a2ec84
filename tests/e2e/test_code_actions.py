"""Code actions end to end: the real server over stdio, the fake model on 127.0.0.1.

Every test runs with the VS Code and the Neovim capability sets, with and without
``codeAction/resolve`` support (without it the server applies edits itself through
``workspace/applyEdit``). The client applies edits with its own position code and checks the
version of every ``documentChanges`` edit; every Python text an action produces must parse.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from tests.e2e.conftest import (  # noqa: F401 - importable from here, as before
    CLIENT_IDS,
    CLIENTS,
    MODEL_TIMEOUT,
    NO_CACHE,
    QUIET,
    SHARED,
    FakeModelView,
    LspilotClient,
    SharedSessions,
    action_session,
    actions_at,
    fenced,
    perform,
    pick,
    range_of,
    run_command,
)
from tests.fakes.model_server import FakeModelServer, Reply, message_text

SAMPLE = '''import asyncio
import functools


def add(a, b):
    return a + b


@functools.cache
@other.decorator(1)
async def fetch(url: str, *, retries: int = 3) -> bytes:
    # wait a little
    await asyncio.sleep(0)
    return b""


def one(x): return x


class Outer:
    """Outer doc."""

    class Inner:
        def method(self, value):
            \'\'\'Old doc.\'\'\'
            return value


def total(xs):
    # sum the numbers in xs
    pass
'''

FETCH_DOC = (
    "Fetch a URL.\n\nArgs:\n    url: Where.\n    retries: How often.\n\nReturns:\n    The body."
)
ONE_DOC = "Return x.\n\nArgs:\n    x: The value."
METHOD_DOC = "Return the value.\n\nArgs:\n    value: Anything."
TOTAL_CODE = "s = 0\nfor x in xs:\n    s += x\nreturn s"


def variant(name: str) -> str:
    """SAMPLE as LF, CRLF, tab-indented, or with emoji and CJK lines."""
    if name == "crlf":
        return SAMPLE.replace("\n", "\r\n")
    if name == "tabs":
        return "\n".join(
            "\t" * ((len(line) - len(line.lstrip(" "))) // 4) + line.lstrip(" ")
            for line in SAMPLE.split("\n")
        )
    if name == "unicode":
        return '"""Ünïcode 🎉 模块."""\n' + SAMPLE.replace(
            "def add(a, b):", "def add(a, b):  # 加法 😀"
        ).replace("# wait a little", "# 少し待つ 🐍").replace("Outer doc.", "Outer 📦 doc.")
    return SAMPLE


@pytest.fixture(params=[True, False], ids=["resolve", "command"])
def resolve(request: pytest.FixtureRequest) -> bool:
    """With and without codeAction/resolve support."""
    return bool(request.param)


# The shared helpers live in tests/e2e/conftest.py; these names stay importable from here.
session = action_session


def shared_session(
    shared_sessions: SharedSessions, client_name: str, resolve: bool
) -> contextlib.AbstractAsyncContextManager[LspilotClient]:
    """The module's server for this client and resolve support (review diagnostics off, no
    cache: each test's actions ask the model, whatever ran before); the test's documents are
    closed after it."""
    return shared_sessions.use(client_name, resolve=resolve, init_options=NO_CACHE)


def docstring_of(text: str, name: str) -> str | None:
    for node in ast.walk(ast.parse(text)):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name == name
        ):
            return ast.get_docstring(node)
    raise AssertionError(f"{name} not found")


# ---- listing ------------------------------------------------------------------------------


@SHARED
async def test_listing_is_free_and_offers_what_applies(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    async with shared_session(shared_sessions, client_name, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        find = client.find

        on_comment = await actions_at(client, uri, find(uri, "# sum the numbers") + 3)
        assert [a.title for a in on_comment] == [
            "Generate code from comment",
            "Document total",
            "Explain total",
        ]
        in_method = await actions_at(client, uri, find(uri, "return value"))
        assert [a.title for a in in_method] == ["Update docstring of method", "Explain method"]
        selection = await actions_at(client, uri, find(uri, "def add"), find(uri, "class Outer"))
        assert [a.title for a in selection] == ["Document 3 definitions", "Explain selection"]

        diagnostic = types.Diagnostic(
            range=client.range_of(uri, "b\n"),
            message="Name 'b' is undefined\nsecond line",
            source="pyflakes",
        )
        with_diagnostic = await actions_at(
            client, uri, find(uri, "a + b"), diagnostics=[diagnostic]
        )
        line = diagnostic.range.start.line + 1
        assert with_diagnostic[-1].title == f"Fix: Name 'b' is undefined second line (line {line})"
        assert with_diagnostic[-1].kind == "quickfix.lspilot"
        assert list(with_diagnostic[-1].diagnostics or []) == [diagnostic]

        only_fix = await actions_at(
            client, uri, find(uri, "a + b"), diagnostics=[diagnostic], only=["quickfix"]
        )
        assert [a.kind for a in only_fix] == ["quickfix.lspilot"]
        only_refactor = await actions_at(client, uri, find(uri, "# sum"), only=["refactor.rewrite"])
        assert {a.kind for a in only_refactor} == {
            "refactor.rewrite.lspilot.generate",
            "refactor.rewrite.lspilot.document",
        }
        assert await actions_at(client, uri, find(uri, "a + b"), only=["source"]) == []

        for action in on_comment + in_method + selection + with_diagnostic:
            assert action.edit is None  # nothing computed yet
            if resolve and not action.title.startswith("Explain"):
                assert action.data is not None and action.command is None
            else:
                assert action.command is not None and action.command.command == "lspilot.runAction"
        assert shared_model.chat_requests() == []


# ---- document -----------------------------------------------------------------------------


FLAVOURS = ["lf", "crlf", "tabs", "unicode"]


@SHARED
async def test_document_generate_and_fix_land_right(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    async with shared_session(shared_sessions, client_name, resolve) as client:
        for flavour in FLAVOURS:
            try:
                await document_generate_and_fix(client, flavour, shared_model)
            except AssertionError as exc:
                exc.add_note(f"flavour: {flavour}")
                raise


async def document_generate_and_fix(
    client: LspilotClient, flavour: str, model_server: FakeModelServer
) -> None:
    """Document, update, generate and fix in one flavour of SAMPLE: each lands right."""
    original = variant(flavour)
    newline = "\r\n" if flavour == "crlf" else "\n"
    asked = len(model_server.chat_requests())
    uri = client.open_doc(f"sample_{flavour}.py", original)

    # Document a decorated async function (answer wrapped in prose and a fence).
    model_server.script("Here is the docstring:\n" + fenced(f'"""{FETCH_DOC}"""'))
    actions = await actions_at(client, uri, client.find(uri, "await asyncio"))
    assert await perform(client, uri, pick(actions, "Document fetch"))
    assert docstring_of(client.text(uri), "fetch") == FETCH_DOC

    # A one-line body is split.
    model_server.script(f"<think>short</think>{ONE_DOC}")
    actions = await actions_at(client, uri, client.find(uri, "return x"))
    assert await perform(client, uri, pick(actions, "Document one"))
    assert docstring_of(client.text(uri), "one") == ONE_DOC

    # A nested method's docstring is replaced in place, keeping its quotes.
    model_server.script(METHOD_DOC)
    actions = await actions_at(client, uri, client.find(uri, "return value"))
    assert await perform(client, uri, pick(actions, "Update docstring of method"))
    text = client.text(uri)
    assert docstring_of(text, "method") == METHOD_DOC
    assert "Old doc" not in text and "'''Return the value." in text

    # Generate below the comment, inside the body, at its indentation (answer over-indented).
    model_server.script(fenced("        " + TOTAL_CODE.replace("\n", "\n        ")))
    actions = await actions_at(client, uri, client.find(uri, "# sum the numbers"))
    assert await perform(client, uri, pick(actions, "Generate code from comment"))
    text = client.text(uri)
    unit = "\t" if flavour == "tabs" else "    "
    expected = newline.join(
        [
            "def total(xs):",
            f"{unit}# sum the numbers in xs",
            f"{unit}s = 0",
            f"{unit}for x in xs:",
            f"{unit}{unit}s += x",
            f"{unit}return s",
            f"{unit}pass",
        ]
    )
    assert expected in text

    # Fix another server's diagnostic: the enclosing function is rewritten.
    start = client.find(uri, "a + b")
    diagnostic = types.Diagnostic(
        range=range_of(text, start, start + 5, client.position_encoding),
        message="Possible overflow",
        source="mylinter",
    )
    model_server.script(fenced("def add(a, b):\n    return int(a) + int(b)"))
    actions = await actions_at(client, uri, start, diagnostics=[diagnostic])
    line = diagnostic.range.start.line + 1
    assert await perform(client, uri, pick(actions, f"Fix: Possible overflow (line {line})"))
    text = client.text(uri)
    assert "return int(a) + int(b)" in text
    assert "Possible overflow" in model_server.prompt_text(model_server.chat_requests()[-1])

    ast.parse(text)
    if flavour == "crlf":
        assert "\n" not in text.replace("\r\n", "")
    if flavour == "tabs":
        assert not [line for line in text.split("\n") if line.startswith(" ")]
    if flavour == "unicode":
        assert "# 少し待つ 🐍" in text and "Outer 📦 doc." in text
    assert len(model_server.chat_requests()) - asked == 5
    client.close_doc(uri)


@SHARED
async def test_document_many_definitions_at_once(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    async with shared_session(shared_sessions, client_name, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)

        def answer(body: dict[str, Any]) -> str:
            prompt = "\n".join(message_text(m) for m in body["messages"])
            if "def add" in prompt and "async def fetch" not in prompt:
                return "Add.\n\nArgs:\n    a: A.\n    b: B."
            if "async def fetch" in prompt:
                return FETCH_DOC
            return ONE_DOC

        shared_model.responder = answer
        actions = await actions_at(
            client, uri, client.find(uri, "def add"), client.find(uri, "class")
        )
        assert await perform(client, uri, pick(actions, "Document 3 definitions"))
        text = client.text(uri)
        assert docstring_of(text, "add") == "Add.\n\nArgs:\n    a: A.\n    b: B."
        assert docstring_of(text, "fetch") == FETCH_DOC
        assert docstring_of(text, "one") == ONE_DOC
        assert len(shared_model.chat_requests()) == 3


@SHARED
async def test_docstring_parameter_mismatch_gets_one_repair_round(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    async with shared_session(shared_sessions, client_name, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        shared_model.script(
            "Add.\n\nArgs:\n    a: A.\n    c: C.", "Add.\n\nArgs:\n    a: A.\n    b: B."
        )
        actions = await actions_at(client, uri, client.find(uri, "a + b"))
        assert await perform(client, uri, pick(actions, "Document add"))
        assert docstring_of(client.text(uri), "add") == "Add.\n\nArgs:\n    a: A.\n    b: B."
        first, second = shared_model.chat_requests()
        assert "rejected" not in shared_model.prompt_text(first)
        repair = shared_model.prompt_text(second)
        assert (
            "does not document `b`" in repair and "`c`, which the signature does not have" in repair
        )


# ---- garbage answers -----------------------------------------------------------------------

GARBAGE = {
    "prose and fence": "Sure! Here is the code:\n\n" + fenced(TOTAL_CODE) + "\n\nThis sums xs.",
    "think block": "<think>\nThe user wants a sum.\n```js\nlet s = 0\n```\n</think>\n" + TOTAL_CODE,
    "wrong indentation": "s = 0\n        for x in xs:\n            s += x\n        return s",
    "wrong language first": fenced("let s = xs.reduce((a, b) => a + b, 0);", "javascript")
    + "\n"
    + fenced(TOTAL_CODE),
    "tilde fence": "~~~py\n" + TOTAL_CODE + "\n~~~",
    "echoed comment": "# sum the numbers in xs\n" + TOTAL_CODE,
}


def _rotated(cases: list[Any]) -> list[Any]:
    """Each case once, with the client x resolve variants taken in turn (cleaning an answer
    happens in the server, the same for every client; each variant still runs)."""
    variants = [(c, r) for r in (True, False) for c in CLIENTS]
    out = []
    for i, case in enumerate(cases):
        client, resolve = variants[i % len(variants)]
        mode = "resolve" if resolve else "command"
        out.append(pytest.param(client, resolve, case, id=f"{CLIENT_IDS[client]}-{mode}-{case}"))
    return out


@pytest.mark.parametrize(("client_name", "resolve", "kind"), _rotated(list(GARBAGE)))
@SHARED
async def test_garbage_answers_are_cleaned(
    client_name: str,
    resolve: bool,
    kind: str,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    async with shared_session(shared_sessions, client_name, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        shared_model.script(GARBAGE[kind])
        actions = await actions_at(client, uri, client.find(uri, "# sum the numbers"))
        assert await perform(client, uri, pick(actions, "Generate code from comment"))
        text = client.text(uri)
        ast.parse(text)
        assert (
            "    # sum the numbers in xs\n    s = 0\n    for x in xs:\n        s += x\n"
            "    return s\n    pass\n"
        ) in text
        assert len(shared_model.chat_requests()) == 1


UNUSABLE = {
    "unparseable": ["def broken(:\n    pass", "x = = 1"],
    "wrong language": [fenced("function f() { return 1; }", "javascript")] * 2,
    "empty": ["", "   "],
}


@pytest.mark.parametrize(("client_name", "resolve", "case"), _rotated(list(UNUSABLE)))
async def test_unusable_answers_get_a_repair_round_then_no_edit(
    client_name: str,
    resolve: bool,
    case: str,
    model_env: dict[str, str],
    workspace: Path,
    model_server: FakeModelServer,
) -> None:
    async with session(client_name, model_env, workspace, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        model_server.script(*UNUSABLE[case])
        actions = await actions_at(client, uri, client.find(uri, "# sum the numbers"))
        assert not await perform(client, uri, pick(actions, "Generate code from comment"))
        assert client.text(uri) == SAMPLE
        await client.wait_for_message(r"Generate code from comment: .*could not be used")
        _, second = model_server.chat_requests()
        assert "rejected" in model_server.prompt_text(second)


# ---- versions, cancellation, progress ------------------------------------------------------


@pytest.mark.parametrize("touch_target", [False, True], ids=["elsewhere", "the comment"])
async def test_document_changed_during_generation(
    client_name: str,
    resolve: bool,
    touch_target: bool,
    model_env: dict[str, str],
    workspace: Path,
    model_server: FakeModelServer,
) -> None:
    import threading

    release = threading.Event()

    def answer(body: dict[str, Any]) -> str:
        release.wait(MODEL_TIMEOUT)  # hang guard; the test releases it
        return fenced(TOTAL_CODE)

    model_server.responder = answer
    async with session(client_name, model_env, workspace, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        actions = await actions_at(client, uri, client.find(uri, "# sum the numbers"))
        running = asyncio.create_task(
            perform(client, uri, pick(actions, "Generate code from comment"))
        )
        assert await model_server.await_requests(1, timeout=MODEL_TIMEOUT)
        if touch_target:
            at = client.find(uri, "numbers in xs")
            client.edit_doc(uri, at, at + len("numbers"), "values")
        else:
            client.edit_doc(uri, 0, 0, "import os\n")
        # A round trip: the server has applied the change before the model answers.
        await actions_at(client, uri, 0)
        release.set()
        applied = await running
        text = client.text(uri)
        ast.parse(text)
        if touch_target:
            assert not applied
            assert "s = 0" not in text
            await client.wait_for_message("document changed while")
        else:
            assert applied
            assert text.startswith("import os\n")
            assert "    # sum the numbers in xs\n    s = 0\n" in text


async def test_cancel_request_aborts_the_model_request(
    client_name: str, model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(stall=True))
    async with session(client_name, model_env, workspace, resolve=True) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        actions = await actions_at(client, uri, client.find(uri, "a + b"))
        action = pick(actions, "Document add")
        # pytest-lsp's send_request_async is a coroutine: a task sends it now.
        pending = asyncio.ensure_future(
            client.protocol.send_request_async(
                types.CODE_ACTION_RESOLVE, action, msg_id="resolve-to-cancel"
            )
        )
        assert await model_server.await_requests(1, timeout=MODEL_TIMEOUT)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="resolve-to-cancel"))
        with pytest.raises(JsonRpcException):
            await asyncio.wait_for(pending, MODEL_TIMEOUT)
        assert await model_server.await_disconnect(timeout=MODEL_TIMEOUT)
        assert client.text(uri) == SAMPLE


async def test_progress_is_shown_and_its_cancel_aborts_the_request(
    client_name: str,
    resolve: bool,
    model_env: dict[str, str],
    workspace: Path,
    model_server: FakeModelServer,
) -> None:
    model_server.script(Reply(stall=True))
    async with session(client_name, model_env, workspace, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        actions = await actions_at(client, uri, client.find(uri, "# sum the numbers"))
        running = asyncio.create_task(
            perform(client, uri, pick(actions, "Generate code from comment"))
        )

        def begun() -> Any:
            # The action's own progress (the workspace index reports its own as well).
            for token, reports in client.progress_reports.items():
                first = reports[0] if reports else None
                if isinstance(first, types.WorkDoneProgressBegin) and "Generate" in first.title:
                    return token, first
            return None

        token, begin = await client.wait_for(begun, what="progress begin")
        assert begin.cancellable is True
        assert begin.title == "lspilot: Generate code from comment"
        assert await model_server.await_requests(1, timeout=MODEL_TIMEOUT)
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        assert await model_server.await_disconnect(timeout=MODEL_TIMEOUT)
        assert not await running
        reports = await client.wait_for_progress_end(token)
        assert isinstance(reports[-1], types.WorkDoneProgressEnd)
        assert client.text(uri) == SAMPLE


# ---- explain, fixes of our own, offline -----------------------------------------------------


@pytest.mark.parametrize("show_document", [True, False], ids=["showDocument", "showMessage"])
async def test_explain_never_edits(
    client_name: str,
    show_document: bool,
    model_env: dict[str, str],
    workspace: Path,
    model_server: FakeModelServer,
    tmp_path: Path,
) -> None:
    model_server.script("`add` **adds** two numbers.")
    async with session(
        client_name, model_env, workspace, resolve=True, show_document=show_document
    ) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        actions = await actions_at(client, uri, client.find(uri, "a + b"))
        assert not await perform(client, uri, pick(actions, "Explain add"))
        assert client.text(uri) == SAMPLE and client.applied_edits == []
        if show_document:
            shown = await client.wait_for(lambda: client.shown_documents, what="showDocument")
            path = Path(shown[0].uri.removeprefix("file://"))
            assert path.parent == tmp_path / "cache" / "explanations"
            written = await asyncio.to_thread(path.read_text, encoding="utf-8")
            assert "`add` **adds** two numbers." in written
        else:
            await client.wait_for_message(r"`add` \*\*adds\*\* two numbers\.")
        assert "def add(a, b)" in model_server.prompt_text(model_server.chat_requests()[0])


@SHARED
async def test_own_diagnostic_fix_applies_without_a_model(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    async with shared_session(shared_sessions, client_name, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        ours = types.Diagnostic(
            range=client.range_of(uri, "a + b"),
            message="Use the sum builtin",
            source="lspilot",
            data={"fix": "sum((a, b))", "version": 1},
        )
        actions = await actions_at(client, uri, client.find(uri, "a + b"), diagnostics=[ours])
        fix = pick(actions, "Fix: Use the sum builtin (line 6)")
        assert fix.is_preferred and fix.edit is not None
        assert await perform(client, uri, fix)
        assert "    return sum((a, b))\n" in client.text(uri)
        assert shared_model.chat_requests() == []


async def test_offline_engine_documents_and_does_not_offer_generate(
    client_name: str, resolve: bool, offline_env: dict[str, str], workspace: Path
) -> None:
    async with session(client_name, offline_env, workspace, resolve) as client:
        uri = client.open_doc("sample.py", SAMPLE)
        actions = await actions_at(client, uri, client.find(uri, "# sum the numbers"))
        assert "Generate code from comment" not in [a.title for a in actions]
        actions = await actions_at(client, uri, client.find(uri, "await asyncio"))
        assert await perform(client, uri, pick(actions, "Document fetch"))
        doc = docstring_of(client.text(uri), "fetch")
        assert doc is not None and "url" in doc and "retries" in doc


@SHARED
async def test_javascript_gets_jsdoc_above_and_code_below_comments(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    source = "class Cart {\n  total(items) {\n    // sum the prices\n  }\n}\n"
    async with shared_session(shared_sessions, client_name, resolve) as client:
        uri = client.open_doc("cart.js", source, language_id="javascript")
        shared_model.script("/**\n * Sum the prices.\n * @param {Item[]} items The items.\n */")
        actions = await actions_at(client, uri, client.find(uri, "total"))
        assert await perform(client, uri, pick(actions, "Document total"))
        assert client.text(uri) == (
            "class Cart {\n  /**\n   * Sum the prices.\n   * @param {Item[]} items The items.\n"
            "   */\n  total(items) {\n    // sum the prices\n  }\n}\n"
        )
        shared_model.script(fenced("return items.reduce((s, i) => s + i.price, 0);", "js"))
        actions = await actions_at(client, uri, client.find(uri, "// sum"))
        assert await perform(client, uri, pick(actions, "Generate code from comment"))
        assert client.text(uri).endswith(
            "    // sum the prices\n    return items.reduce((s, i) => s + i.price, 0);\n  }\n}\n"
        )
