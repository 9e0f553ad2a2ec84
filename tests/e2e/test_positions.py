"""Positions are exactly LSP's, through the real server (offline engine, no model).

The client keeps its own copy of each document with the harness's independent LSP model;
after incremental changes that pygls's `str.splitlines` would misplace, the server's ranges
must still cover exactly the text the client has there. Lone surrogates get every feature,
and the file name decides the language when the client's languageId disagrees.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from tests.e2e.conftest import SHARED, LspilotClient, SharedSessions, offset_at

ODD_BREAKS = "def alpha(x):\n    return x\f + 1\v\n\nbeta = 1\x85\u2028\u2029gamma = alpha(beta)\n"


async def hover_at(client: LspilotClient, uri: str, needle: str) -> types.Hover | None:
    return await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position_of(uri, needle, delta=1),
        )
    )


def send_change(client: LspilotClient, uri: str, position: types.Position, text: str) -> None:
    """An insert at a raw `position` (possibly past the end of its line), as an editor may
    send it; the client's copy applies it with the harness's LSP model."""
    doc = client.documents[uri]
    at = offset_at(doc.text, position, client.position_encoding)
    doc.text, doc.version = doc.text[:at] + text + doc.text[at:], doc.version + 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(position, position), text=text
                )
            ],
        )
    )


@SHARED
async def test_incremental_changes_keep_the_servers_copy_exact(
    client_name: str, shared_sessions: SharedSessions
) -> None:
    # Read-only on a file of its own: the module's offline server for this client.
    client = await shared_sessions.get(client_name, offline=True)
    workspace = shared_sessions.workspace
    uri = client.open_doc(workspace / "odd.py", ODD_BREAKS)
    # Past the end of line 0: the end of that line, not the next one.
    send_change(client, uri, types.Position(0, 99), "  # first")
    # Lines that str.splitlines would split at \f, \v, \x85, U+2028/2029.
    start = client.find(uri, "gamma")
    client.edit_doc(uri, start, start, "delta = 2\n")
    client.edit_doc(uri, client.find(uri, "+ 1"), client.find(uri, "+ 1") + 3, "+ 2")
    for name in ("alpha(beta)", "beta)", "delta"):
        hover = await hover_at(client, uri, name)
        assert hover is not None and hover.range is not None, name
        word = name.split("(")[0].rstrip(")")
        assert client.text_in(uri, hover.range) == word
    assert client.text(uri).startswith("def alpha(x):  # first\n")


@SHARED
async def test_an_insert_past_the_end_of_a_crlf_line(
    client_name: str, shared_sessions: SharedSessions
) -> None:
    # Read-only on a file of its own: the module's offline server for this client.
    client = await shared_sessions.get(client_name, offline=True)
    workspace = shared_sessions.workspace
    uri = client.open_doc(workspace / "crlf.py", "x = 1\r\ny = x\r\n")
    send_change(client, uri, types.Position(0, 50), " + 2")  # never between \r and \n
    assert client.text(uri) == "x = 1 + 2\r\ny = x\r\n"
    hover = await hover_at(client, uri, "x\r\n")
    assert hover is not None and hover.range is not None
    assert client.text_in(uri, hover.range) == "x"
    assert hover.range.start.line == 1


LONE = (
    'def shout(text):\n    """Say \ud800 loudly."""\n    return text + "\udfff"\n\n\nshout("a")\n'
)


async def test_lone_surrogates_get_every_feature(
    client_name: str, offline_env: dict[str, str], open_session, workspace: Path
) -> None:
    env = {**offline_env, "LSPILOT_DIAGNOSTICS__MISSING_DOCSTRINGS": "true"}
    async with open_session(client_name, env=env, pull_diagnostics=False) as client:
        uri = client.open_doc(workspace / "lone.py", LONE, write=False)
        published = await client.wait_for_diagnostics(uri)
        assert published.uri == uri
        hover = await hover_at(client, uri, 'shout("a")')
        assert hover is not None and hover.range is not None
        assert client.text_in(uri, hover.range) == "shout"
        at = client.position_of(uri, "return")
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(at, at),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert actions and any("shout" in a.title for a in actions)
        client.edit_doc(uri, client.find(uri, "loudly"), client.find(uri, "loudly"), "\ud801 ")
        hover = await hover_at(client, uri, 'shout("a")')
        assert hover is not None
    assert not client.handler_errors


@SHARED
async def test_the_file_name_decides_the_language(
    client_name: str, shared_sessions: SharedSessions
) -> None:
    js = "/** Add two numbers. */\nfunction add(a, b) {\n  return a + b;\n}\n\nadd(1, 2);\n"
    client = await shared_sessions.get(client_name, offline=True)
    workspace = shared_sessions.workspace
    # eglot sends one languageId for every buffer of a server.
    uri = client.open_doc(workspace / "add.js", js, language_id="python")
    hover = await hover_at(client, uri, "add(1")
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "function add(a, b)" in hover.contents.value
    assert "```javascript" in hover.contents.value


async def test_lone_surrogates_reach_the_model_as_valid_json(
    client_name: str, model_env: dict[str, str], open_session, workspace: Path, model_server
) -> None:
    model_server.responder = lambda body: "`shout` makes text loud."
    env = {
        **model_env,
        "LSPILOT_DIAGNOSTICS__ENABLED": "false",
        "LSPILOT_HOVER__TIMEOUT_MS": "60000",
    }
    async with open_session(client_name, env=env) as client:
        uri = client.open_doc(workspace / "lone.py", LONE, write=False)
        hover = await hover_at(client, uri, 'shout("a")')
        assert hover is not None and "makes text loud" in str(hover.contents)
    [request] = model_server.chat_requests()
    assert "\ufffd" in model_server.prompt_text(request)  # one code point for one
