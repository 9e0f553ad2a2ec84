"""A 5 MB source file: open, hover, codeAction and didChange are answered and the server
stays responsive (parsed once per version, off the event loop). No timing assertions: the
waits are hang guards; the times are printed for the record (`pytest -s`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lsprotocol import types
from tests.e2e.conftest import LspilotClient, lsp_session
from tests.fakes.model_server import FakeModelServer, Reply

# Generous: a loaded 2-core CI machine parses 5 MB in a few seconds.
BIG_GUARD_S = 120.0


def big_source(target_bytes: int = 5_000_000) -> str:
    unit = 'def f{0}(a, b):\n    """Add."""\n    return a + b + {0}\n\n\n'
    parts, size, i = [], 0, 0
    while size < target_bytes:
        part = unit.format(i)
        parts.append(part)
        size += len(part)
        i += 1
    return "".join(parts)


async def timed(label: str, request: asyncio.Future | object) -> object:
    start = time.perf_counter()
    result = await asyncio.wait_for(request, BIG_GUARD_S)  # type: ignore[arg-type]
    print(f"{label}: {time.perf_counter() - start:.2f}s")
    return result


async def hover(client: LspilotClient, uri: str, needle: str) -> types.Hover | None:
    return await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position_of(uri, needle, delta=1),
        )
    )


async def code_actions(client: LspilotClient, uri: str, needle: str) -> object:
    at = client.position_of(uri, needle)
    return await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=at, end=at),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )


# One editor: parsing, caching and answering a big file is one code path whatever the client
# (positions in every encoding are checked on small files in test_positions.py); a second
# 5 MB session cost ~20 s quiet and ~100 s on a loaded machine for no new line covered.
async def test_a_5mb_file_is_answered(offline_env: dict[str, str], workspace: Path) -> None:
    text = big_source()
    async with lsp_session("neovim", env=offline_env, workspace=workspace) as client:
        uri = client.open_doc("big.py", text)
        shown = await timed("hover after open", hover(client, uri, "f7000("))
        assert isinstance(shown, types.Hover)
        assert "f7000" in shown.contents.value  # type: ignore[union-attr]
        actions = await timed("codeAction", code_actions(client, uri, "return a + b + 9000"))
        assert actions, "the menu is offered on a big file too"
        client.edit_doc(uri, 0, 0, "import os\n")
        shown = await timed("hover after didChange", hover(client, uri, "f12000("))
        assert isinstance(shown, types.Hover)
        # Still responsive: a small document is answered too.
        small = client.open_doc("small.py", "def g(x):\n    return x\n")
        assert await timed("hover on a small file", hover(client, small, "g(x)"))


async def test_an_oversized_answer_is_cut_and_not_cached(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: Reply(content="word " * 2_000_000)  # 10 MB
    options = {"diagnostics": {"enabled": False}, "hover": {"timeoutMs": 60_000}}
    async with lsp_session(
        "visual-studio-code", env=model_env, workspace=workspace, init_options=options
    ) as client:
        uri = client.open_doc("a.py", "def add(a, b):\n    return a + b\n")
        shown = await asyncio.wait_for(hover(client, uri, "add(a"), BIG_GUARD_S)
        assert isinstance(shown, types.Hover)
        assert "word word" in shown.contents.value  # type: ignore[union-attr]
        assert len(shown.contents.value) < 100_000  # type: ignore[union-attr]
        await asyncio.wait_for(hover(client, uri, "add(a"), BIG_GUARD_S)
        assert len(model_server.chat_requests()) == 2  # the cut answer was not cached


async def test_two_2000_line_documents_used_in_turn_are_each_parsed_again(
    offline_env: dict[str, str], workspace: Path
) -> None:
    """Only the most recently used document keeps its tree whatever its size
    (lspilot.documents.SOURCES_KEEP), and the parse cache keeps no big tree of its own: two
    2,000-line files used in turn each drop the other's tree, and hover and the code-action
    menu on the one dropped are answered from a new parse, the same as before."""
    async with lsp_session("visual-studio-code", env=offline_env, workspace=workspace) as client:
        docs = [
            (client.open_doc("a.py", big_source(100_000)), "f"),
            (client.open_doc("b.py", big_source(100_000).replace("def f", "def g")), "g"),
        ]
        first: list[object] = []
        for round_ in range(2):
            for uri, name in docs:
                shown = await timed("hover", hover(client, uri, f"{name}300("))
                assert isinstance(shown, types.Hover)
                assert f"def {name}300(a, b)" in shown.contents.value  # type: ignore[union-attr]
                actions = await timed("codeAction", code_actions(client, uri, "return a + b + 40"))
                assert actions
                if round_ == 0:
                    first.append((shown, actions))
                else:  # from a new parse: the same answers
                    assert (shown, actions) == first[docs.index((uri, name))]


async def test_a_document_whose_tree_was_dropped_is_parsed_again(
    offline_env: dict[str, str], workspace: Path
) -> None:
    """Only the most recently used documents keep their syntax trees (their memory is
    bounded: lspilot.documents.SOURCES_BYTES); going back to one whose tree was dropped,
    before and after an edit, is answered from a new parse."""
    async with lsp_session("neovim", env=offline_env, workspace=workspace) as client:
        # Each over the trees' whole budget: the ones used since push the first one out.
        uris = [client.open_doc(f"part{i}.py", big_source(160_000)) for i in range(4)]
        for uri in uris:
            shown = await timed("hover", hover(client, uri, "f100("))
            assert isinstance(shown, types.Hover)
        first = uris[0]
        shown = await timed("hover after its tree was dropped", hover(client, first, "f200("))
        assert isinstance(shown, types.Hover)
        assert "f200" in shown.contents.value  # type: ignore[union-attr]
        for uri in uris[1:]:
            await timed("hover", hover(client, uri, "f300("))
        client.edit_doc(first, 0, 0, "import os\n")
        shown = await timed("hover after an edit", hover(client, first, "f400("))
        assert isinstance(shown, types.Hover)
        assert "f400" in shown.contents.value  # type: ignore[union-attr]
        actions = await timed("codeAction", code_actions(client, first, "return a + b + 500"))
        assert actions
