"""Review diagnostics end to end: the real server over stdio, the fake model on 127.0.0.1.

Every behaviour is checked with the VS Code and Neovim capability sets, pushed and pulled:
pulling with `workspace/diagnostic/refresh` (VS Code variant) and without it (Neovim's recorded
capabilities, where the server answers a pull once the review under way is done).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import MODEL_TIMEOUT, LspilotClient, capabilities_for, encodings_for
from tests.fakes.model_server import FakeModelServer, Reply

SOURCE = """import os


def add(a, b):
    return a - b


def greet(name):
    print("hello " + nme)


class Box:
    def size(self):
        return len(self.items)
"""
CHUNKS = ["<module>", "add", "greet", "Box"]

ADD_ISSUE = {
    "quote": "a - b",
    "message": "Subtracts instead of adding.",
    "severity": "error",
    "fix": "a + b",
}
GREET_ISSUE = {
    "quote": "nme",
    "message": "`nme` is not defined.",
    "severity": "warning",
    "fix": None,
}
LOST_ISSUE = {
    "quote": "nowhere()",
    "message": "Quotes code that is not there.",
    "severity": "error",
}
BOX_ISSUE = {"quote": "self.items", "message": "Box has no `items`.", "severity": "information"}

# Variant -> (client capability set, pull diagnostics, workspace/diagnostic/refresh support).
VARIANTS = {
    "vscode-push": ("visual-studio-code", False, False),
    "vscode-pull": ("visual-studio-code", True, True),
    "neovim-push": ("neovim", False, False),
    "neovim-pull": ("neovim", True, False),
}
# The idle time before a review: short, as each review after an edit waits it out. Nothing
# here needs it to outlast anything (the burst test ends its burst with a save instead).
IDLE_MS = 1000
#: The burst test's idle time: the longest allowed, a hang guard's length; the test's save
#: is what starts the review, never the clock.
BURST_IDLE_MS = 60_000


class ReviewModel:
    """A responder for the fake: review JSON per chunk name, read from the prompt."""

    def __init__(self, issues: dict[str, Any] | None = None) -> None:
        self.issues: dict[str, Any] = issues or {}

    def __call__(self, body: dict[str, Any]) -> Reply | str:
        prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
        name = chunk_name(prompt)
        answer = self.issues.get(name, [])
        if callable(answer):
            answer = answer(prompt)
        if isinstance(answer, Reply | str):
            return answer
        return json.dumps({"issues": answer})


def chunk_name(prompt: str) -> str:
    match = re.search(r"Review `([^`]+)`", prompt)
    return match.group(1) if match else "?"


def reviewed(model_server: FakeModelServer, since: int = 0) -> list[str]:
    """Names of the chunks the model was asked to review (from the request log)."""
    return [chunk_name(model_server.prompt_text(r)) for r in model_server.chat_requests()[since:]]


def prompt_tokens(model_server: FakeModelServer, since: int = 0) -> int:
    """Prompt tokens the fake billed for the requests since `since` (its own estimate)."""
    return sum(
        model_server._usage(r.body or {}, r.reply or Reply())["prompt_tokens"]
        for r in model_server.chat_requests()[since:]
    )


@dataclass
class Viewer:
    """Reads the diagnostics of a document the way the client gets them: pushed or pulled."""

    client: LspilotClient
    pull: bool
    refresh: bool

    async def wait(
        self,
        uri: str,
        where: Callable[[list[types.Diagnostic]], bool],
        *,
        version: int | None = None,
        since: int = 0,
    ) -> list[types.Diagnostic]:
        """The diagnostics of `uri` once they satisfy `where` (and are for `version`)."""
        if not self.pull:
            params = await self.client.wait_for_diagnostics(
                uri,
                lambda p: (version is None or p.version == version) and where(list(p.diagnostics)),
                since=since,
            )
            return list(params.diagnostics)
        while True:
            seen = self.client.diagnostic_refresh_count
            items = await self.pull_now(uri)
            if where(items):
                return items
            # Without refresh support the server answered once its review was done: this is
            # the final answer, and it is wrong.
            assert self.refresh, f"pulled {items}"
            await self.client.wait_for(
                lambda seen=seen: self.client.diagnostic_refresh_count > seen,
                what="diagnostic refresh",
            )

    async def pull_now(self, uri: str) -> list[types.Diagnostic]:
        report = await self.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport), report
        return list(report.items)

    def pushed(self) -> list[types.PublishDiagnosticsParams]:
        return list(self.client.notifications_of(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS))


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: For behaviour that does not depend on the capability set, only on pushing or pulling
#: (the two pushing variants, and the two pulling ones, share every line of its code path).
#: Neovim pulls without refresh support, the stricter of the two pulls.
PUSH_AND_PULL = pytest.mark.parametrize("variant", ["vscode-push", "neovim-pull"])


@pytest.fixture
def review_session(
    open_session: Callable[..., Any], model_env: dict[str, str], model_server: FakeModelServer
) -> Callable[..., contextlib.AbstractAsyncContextManager[Viewer]]:
    """Sessions of one variant against the fake model, with review settings."""

    @contextlib.asynccontextmanager
    async def start(
        variant: str = "vscode-push",
        diagnostics: dict[str, Any] | None = None,
        encoding: str | None = None,
        env: dict[str, str] | None = None,
    ) -> AsyncIterator[Viewer]:
        client_name, pull, refresh = VARIANTS[variant]
        caps = capabilities_for(client_name, pull_diagnostics=pull, encodings=encoding)
        if refresh:
            assert caps.workspace is not None
            caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
                refresh_support=True
            )
        options = {"diagnostics": {"idleMs": IDLE_MS, **(diagnostics or {})}}
        async with open_session(
            client_name, env=env or model_env, capabilities=caps, init_options=options
        ) as client:
            yield Viewer(client, pull, refresh)

    return start


def expected(client: LspilotClient, uri: str, version: int) -> list[types.Diagnostic]:
    """What SOURCE's review shows: ranges from the test's own position oracle."""

    def diag(quote: str, issue: dict[str, Any], severity: types.DiagnosticSeverity) -> Any:
        return types.Diagnostic(
            range=client.range_of(uri, quote),
            message=issue["message"],
            severity=severity,
            source="lspilot",
            data={"fix": issue["fix"], "version": version},
        )

    return [
        diag("a - b", ADD_ISSUE, types.DiagnosticSeverity.Error),
        diag("nme", GREET_ISSUE, types.DiagnosticSeverity.Warning),
    ]


def model(model_server: FakeModelServer, **issues: Any) -> ReviewModel:
    responder = ReviewModel({"add": [ADD_ISSUE, LOST_ISSUE], "greet": [GREET_ISSUE], **issues})
    model_server.responder = responder
    return responder


# ---- open ---------------------------------------------------------------------------------


async def test_open_shows_anchored_diagnostics(
    review_session: Any, model_server: FakeModelServer, variant: str
) -> None:
    model(model_server)
    async with review_session(variant) as view:
        uri = view.client.open_doc("a.py", SOURCE)
        want = expected(view.client, uri, 1)
        # The issue quoting `nowhere()` is not in `add`: it is dropped, not placed anywhere.
        assert await view.wait(uri, lambda items: items == want, version=1) == want
        assert sorted(reviewed(model_server)) == sorted(CHUNKS)
        if view.pull:
            assert view.pushed() == []  # one mode per client, never both


async def test_severity_floor_and_max_issues_per_chunk(
    review_session: Any, model_server: FakeModelServer
) -> None:
    hints = [{"quote": "len", "message": f"hint {i}", "severity": "hint"} for i in range(3)]
    model(model_server, Box=[BOX_ISSUE, *hints])
    settings = {"severityFloor": "warning", "maxIssuesPerChunk": 1}
    async with review_session("vscode-push", settings) as view:
        uri = view.client.open_doc("a.py", SOURCE)
        want = expected(view.client, uri, 1)
        await view.wait(uri, lambda items: items == want)
    async with review_session(
        "vscode-push", {"severityFloor": "hint", "maxIssuesPerChunk": 2}
    ) as view:
        uri = view.client.open_doc("a.py", SOURCE)
        items = await view.wait(uri, lambda items: len(items) == 4)
        box = [d.message for d in items if d.range.start.line >= 12]
        # The more severe issue wins the limit; what is kept is listed in document order.
        assert box == ["hint 0", BOX_ISSUE["message"]]


# ---- editing ------------------------------------------------------------------------------


@PUSH_AND_PULL
async def test_burst_of_50_edits_reviews_only_that_chunk_once(
    review_session: Any, model_server: FakeModelServer, variant: str
) -> None:
    line = "    size = len(name) * 2  # count it twice"
    typed = line + " " + "!" * (49 - len(line) - 1) + "\n"  # 50 keystrokes, a character each
    assert len(typed) == 50
    model(model_server, greet=lambda p: [GREET_ISSUE, *([NEW] if "size = len" in p else [])])
    # Each keystroke puts the idle review off again; the save after the last one starts it at
    # once (superseding the idle review still waiting). A review in the middle would be a
    # second one: the idle time is far longer than any burst, so only the save can start it.
    async with review_session(variant, {"idleMs": BURST_IDLE_MS}) as view:
        client = view.client
        uri = client.open_doc("a.py", SOURCE)
        await view.wait(uri, lambda items: items == expected(client, uri, 1))
        before = len(model_server.chat_requests())
        tokens_before = prompt_tokens(model_server)

        at = client.find(uri, '    print("hello')
        for i, char in enumerate(typed):
            client.edit_doc(uri, at + i, at + i, char)
        version = client.documents[uri].version
        assert version == 51
        client.save_doc(uri)

        want = expected(client, uri, version)
        new = types.Diagnostic(
            range=client.range_of(uri, "size = len(name) * 2"),
            message=NEW["message"],
            severity=types.DiagnosticSeverity.Information,
            source="lspilot",
            data={"fix": None, "version": version},
        )
        want = [want[0], new, want[1]]
        await view.wait(uri, lambda items: items == want, version=version)
        assert reviewed(model_server, before) == ["greet"]
        assert typed.rstrip("#") in model_server.prompt_text(model_server.chat_requests()[-1])
        print(
            f"\n[{variant}] 50-edit burst: {len(model_server.chat_requests()) - before} model "
            f"request(s), {prompt_tokens(model_server) - tokens_before} prompt tokens "
            f"(opening: {before} requests, {tokens_before} prompt tokens)"
        )


NEW = {
    "quote": "size = len(name) * 2",
    "message": "Unused variable `size`.",
    "severity": "information",
}


async def test_edit_above_a_chunk_moves_its_diagnostics_at_once(
    review_session: Any, model_server: FakeModelServer, variant: str
) -> None:
    model(model_server)
    # No idle reviews: whatever shows after the edits comes from what was reviewed on open.
    async with review_session(variant, {"triggers": ["open"], "severityFloor": "hint"}) as view:
        client = view.client
        uri = client.open_doc("a.py", SOURCE)
        await view.wait(uri, lambda items: items == expected(client, uri, 1))
        requests = len(model_server.chat_requests())

        client.edit_doc(uri, 0, 0, "\n\n")  # two lines above everything: no chunk changes
        moved = expected(client, uri, 2)
        assert moved[0].range.start.line == 6
        assert await view.wait(uri, lambda items: items == moved, version=2) == moved

        # An edit inside `add` withdraws add's diagnostics; greet's stay where they are.
        end = client.find(uri, "a - b") + len("a - b")
        client.edit_doc(uri, end, end, "  # on purpose")
        greet_only = expected(client, uri, 3)[1:]
        assert await view.wait(uri, lambda items: items == greet_only, version=3) == greet_only
        assert len(model_server.chat_requests()) == requests


async def test_answer_for_an_older_version_is_not_shown(
    review_session: Any, model_server: FakeModelServer, variant: str
) -> None:
    release = threading.Event()
    old_issue = {"quote": "nme", "message": "Answer for version 1.", "severity": "error"}

    def greet(prompt: str) -> list[dict[str, Any]]:
        if "name2" in prompt:
            return [GREET_ISSUE]
        release.wait(MODEL_TIMEOUT)  # hold the answer for version 1 until the test has edited greet
        return [old_issue]

    model(model_server, greet=greet)
    async with review_session(variant) as view:
        client = view.client
        uri = client.open_doc("a.py", SOURCE)
        await client.wait_for(lambda: "greet" in reviewed(model_server), what="greet review")
        at = client.find(uri, "(name)")
        client.edit_doc(uri, at + 1, at + 5, "name2")  # version 2: greet changed
        # A request answered after the edit proves the server has applied it (messages are
        # handled in order); only then may the answer for version 1 arrive. Hover on a blank
        # line asks no model.
        await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=1, character=0),
            )
        )
        release.set()
        version = client.documents[uri].version
        want = expected(client, uri, version)
        await view.wait(uri, lambda items: items == want, version=version)
        shown = [d.message for p in view.pushed() for d in p.diagnostics]
        assert old_issue["message"] not in shown
        assert reviewed(model_server).count("greet") == 2


async def test_close_clears_and_reopen_costs_no_request(
    review_session: Any, model_server: FakeModelServer, variant: str
) -> None:
    model(model_server)
    async with review_session(variant) as view:
        client = view.client
        uri = client.open_doc("a.py", SOURCE)
        await view.wait(uri, lambda items: items == expected(client, uri, 1))
        requests = len(model_server.chat_requests())
        since = len(client.notifications)
        client.close_doc(uri)
        if not view.pull:
            cleared = await client.wait_for_diagnostics(
                uri, lambda p: not p.diagnostics, since=since
            )
            assert list(cleared.diagnostics) == []
        uri = client.open_doc("a.py", SOURCE)
        want = expected(client, uri, 1)
        await view.wait(uri, lambda items: items == want, since=since + 1)
        assert len(model_server.chat_requests()) == requests
        print(f"\n[{variant}] re-open unchanged: 0 model requests, 0 prompt tokens")


# ---- robustness ---------------------------------------------------------------------------


@PUSH_AND_PULL
async def test_malformed_answers_show_nothing_and_are_logged(
    review_session: Any,
    model_server: FakeModelServer,
    variant: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = '{"issues": [{"quote": "a - b", "message": "cut sh'
    model_server.responder = lambda body: Reply(content=broken)
    async with review_session(variant) as view:
        client = view.client
        uri = client.open_doc("a.py", SOURCE)
        stderr: list[str] = []

        def logged() -> bool:
            stderr.append(capsys.readouterr().err)
            return "".join(stderr).count("unusable answer dropped") >= len(CHUNKS)

        await client.wait_for(logged, what="log lines about the unusable answers")
        if view.pull:
            assert await view.pull_now(uri) == []
        else:
            assert view.pushed() and all(not p.diagnostics for p in view.pushed())
        # Still serving: the next review works.
        model(model_server)
        client.edit_doc(uri, 0, 0, "\n")
        want = expected(client, uri, 2)
        await view.wait(uri, lambda items: items == want, version=2)


async def test_rejected_response_format_falls_back(
    review_session: Any, model_server: FakeModelServer
) -> None:
    model(model_server)
    model_server.reject_response_format = True
    async with review_session("vscode-push") as view:
        uri = view.client.open_doc("a.py", SOURCE)
        want = expected(view.client, uri, 1)
        await view.wait(uri, lambda items: items == want, version=1)
        bodies = [r.body or {} for r in model_server.chat_requests()]
        assert "response_format" in bodies[0]  # asked for, refused with a 400...
        assert "response_format" not in bodies[-1]  # ...and dropped on the retry


async def test_model_error_is_reported_once_and_the_server_keeps_going(
    review_session: Any, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: Reply(status=401, error_message="bad key")
    async with review_session("vscode-push") as view:
        client = view.client
        uri = client.open_doc("a.py", SOURCE)
        await client.wait_for_message("API key")
        client.open_doc("b.py", SOURCE)
        model(model_server)
        client.edit_doc(uri, 0, 0, "\n")
        await view.wait(uri, lambda items: items == expected(client, uri, 2), version=2)
        assert len([m for m in client.messages if "API key" in m.message]) == 1


# ---- positions, files, triggers -----------------------------------------------------------

WIDE = """# 🎉 emoji, 中文, and é line up differently in UTF-8 and UTF-16


def 名前(値):
    return "🎉🎉" + 値 + undefined_thing
"""


@pytest.mark.parametrize(("client_name", "encoding"), encodings_for())
async def test_ranges_with_emoji_and_cjk(
    review_session: Any, model_server: FakeModelServer, client_name: str, encoding: str
) -> None:
    issue = {"quote": "undefined_thing", "message": "Undefined.", "severity": "error"}
    wide = {"quote": '"🎉🎉" + 値', "message": "Wide.", "severity": "warning", "fix": "値"}
    model_server.responder = ReviewModel({"名前": [issue, wide]})
    variant = "vscode-push" if client_name == "visual-studio-code" else "neovim-pull"
    async with review_session(variant, encoding=encoding) as view:
        client = view.client
        assert client.position_encoding == encoding
        uri = client.open_doc("wide.py", WIDE)
        items = await view.wait(uri, lambda items: len(items) == 2)
        assert [client.text_in(uri, d.range) for d in items] == ['"🎉🎉" + 値', "undefined_thing"]
        assert items[0].range == client.range_of(uri, '"🎉🎉" + 値')


async def test_big_files_are_reviewed_on_save_only(
    review_session: Any, model_server: FakeModelServer
) -> None:
    model(model_server)
    async with review_session("vscode-push", {"maxFileLines": 5}) as view:
        client = view.client
        uri = client.open_doc("a.py", SOURCE)
        client.edit_doc(uri, 0, 0, "\n")
        # The edit is re-positioned (an empty publish for version 2) but never reviewed.
        await view.wait(uri, lambda items: items == [], version=2)
        assert model_server.chat_requests() == []
        client.save_doc(uri)
        await view.wait(uri, lambda items: items == expected(client, uri, 2), version=2)


@PUSH_AND_PULL
async def test_excluded_files_get_nothing(
    review_session: Any, model_server: FakeModelServer, variant: str
) -> None:
    model(model_server)
    async with review_session(variant) as view:
        client = view.client
        secret = client.open_doc("secrets/keys.py", SOURCE)
        client.save_doc(secret)
        uri = client.open_doc("a.py", SOURCE)
        await view.wait(uri, lambda items: items == expected(client, uri, 1))
        if view.pull:
            assert await view.pull_now(secret) == []
        assert all(p.uri != secret for p in view.pushed())
        assert "hello" not in "".join(
            model_server.prompt_text(r)
            for r in model_server.chat_requests()
            if "secrets" in model_server.prompt_text(r)
        )
        assert len(model_server.chat_requests()) == len(CHUNKS)


async def test_offline_engine_review_carries_its_fix(
    review_session: Any, offline_env: dict[str, str]
) -> None:
    text = 'def f(a):\n    """Do it.\n\n    Args:\n        b: Gone.\n    """\n    return a\n'
    async with review_session("vscode-push", env=offline_env) as view:
        uri = view.client.open_doc("o.py", text)
        items = await view.wait(uri, lambda items: len(items) >= 1)
        stale = next(d for d in items if "`b`" in d.message)
        assert stale.source == "lspilot" and stale.data["version"] == 1
        assert "a:" in stale.data["fix"] and "b:" not in stale.data["fix"]
        assert view.client.text_in(uri, stale.range).startswith('"""Do it.')
