"""Every model feature in JavaScript, TypeScript, TSX, Go, Rust, Java, C and C++, end to end.

The real server over stdio, the fake model on 127.0.0.1, a realistic file per language
(tests/fixtures/languages/, each with a non-ASCII line). One session per feature and
language: hover; the code actions (document with its repair round, update an existing doc
comment, generate from comment with its repair round, fix, explain); review diagnostics.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import (
    SHARED,
    LspilotClient,
    SharedSessions,
    actions_at,
    fenced,
    lsp_session,
    perform,
    pick,
)
from tests.e2e.conftest import action_session as session
from tests.fakes.model_server import FakeModelServer

from lspilot.syntax import language_of, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "languages"


@dataclass(frozen=True)
class Lang:
    """One language's fixture and what the fake model answers about it."""

    file: str
    language_id: str
    fence: str
    total: str  # the function the tests document, fix and hover
    scale: str  # the function with an old doc comment
    ret: str  # the expression the fix and the review are about
    doc: str  # the doc comment text the model answers for `total`
    wrong_doc: str  # a first answer the check rejects
    doc_block: str  # what lands above `total`, its header line included
    update: str  # the new doc comment text of `scale`
    update_block: str  # what replaces the old doc comment of `scale`
    code: str  # generated below "sum the prices", flush left
    code_block: str  # the comment line and the code as inserted

    @property
    def text(self) -> str:
        return (FIXTURES / self.file).read_text(encoding="utf-8")


_TAGS = (
    "Sum the prices.\n\n@param items The items.\n@param discount Taken off.\n@returns The total."
)
_TS_TAGS = _TAGS.replace("items The", "items - The").replace("discount Taken", "discount - Taken")
_JAVA_TAGS = _TAGS.replace("@returns", "@return")
_C_TAGS = _JAVA_TAGS.replace("discount Taken off.", "count How many.")
_SCALE = "Scale the prices.\n\n@param items The items.\n@param factor The factor."
_TS_SCALE = _SCALE.replace("items The", "items - The").replace("factor The", "factor - The")
_RUST_DOC = "Sum the prices.\n\n# Arguments\n\n* `items` - The items.\n* `discount` - Taken off."


def _block(text: str, indent: str) -> str:
    """`text` as a `/** */` block at `indent` (the test's own formatting, not the server's)."""
    inner = "".join(f"{indent} *{' ' + line if line else ''}\n" for line in text.split("\n"))
    return f"{indent}/**\n{inner}{indent} */\n"


def _replaced(text: str, indent: str) -> str:
    """The block replacing an old doc comment: from the comment's first character."""
    return _block(text, indent)[len(indent) : -1]


def _lines(text: str, indent: str, marker: str) -> str:
    return "".join(f"{indent}{marker}{' ' + line if line else ''}\n" for line in text.split("\n"))


LANGS = {
    "javascript": Lang(
        "shop.js", "javascript", "js", "total", "scale", "sum - discount",
        _TAGS, _TAGS.replace("@param discount Taken off.\n", ""),
        _block(_TAGS, "  ") + "  total(items, discount) {",
        _SCALE,
        _replaced(_SCALE, ""),
        "for (const item of items) {\n  sum += item.price;\n}",
        "    // sum the prices\n    for (const item of items) {\n      sum += item.price;\n    }\n",
    ),
    "typescript": Lang(
        "shop.ts", "typescript", "ts", "total", "scale", "sum - discount",
        _TS_TAGS, _TS_TAGS.replace("@param items - ", "@param {Item[]} items - "),
        _block(_TS_TAGS, "") + "export function total(",
        _TS_SCALE,
        _replaced(_TS_SCALE, ""),
        "for (const item of items) {\n  sum += item.price;\n}",
        "  // sum the prices\n  for (const item of items) {\n    sum += item.price;\n  }\n",
    ),
    "tsx": Lang(
        "shop.tsx", "typescriptreact", "tsx", "total", "scale", "sum - discount",
        _TS_TAGS, "Sum the prices.",
        _block(_TS_TAGS, "") + "export function total(",
        _TS_SCALE,
        _replaced(_TS_SCALE, ""),
        "for (const item of items) {\n  sum += item.price;\n}",
        "  // sum the prices\n  for (const item of items) {\n    sum += item.price;\n  }\n",
    ),
    "go": Lang(
        "shop.go", "go", "go", "Total", "Scale", "sum - discount",
        "Total sums the prices of items, minus discount.", "Sums the prices of items.",
        "// Total sums the prices of items, minus discount.\nfunc Total(",
        "Scale returns the items with every price multiplied by factor.",
        "// Scale returns the items with every price multiplied by factor.",
        "for _, it := range items {\n\tsum += it.Price\n}",
        "\t// sum the prices\n\tfor _, it := range items {\n\t\tsum += it.Price\n\t}\n",
    ),
    "rust": Lang(
        "shop.rs", "rust", "rust", "total", "scale", "sum - discount",
        _RUST_DOC, _RUST_DOC.replace("* `items` - The items.\n", ""),
        _lines(_RUST_DOC, "", "///") + "pub fn total(",
        "Scale the prices.\n\n# Arguments\n\n* `items` - The items.\n* `factor` - The factor.",
        "/// Scale the prices.\n///\n/// # Arguments\n///\n/// * `items` - The items.\n"
        "/// * `factor` - The factor.",
        "for it in items {\n    sum += it.price;\n}",
        "    // sum the prices\n    for it in items {\n        sum += it.price;\n    }\n",
    ),
    "java": Lang(
        "Shop.java", "java", "java", "total", "scale", "sum - discount",
        _JAVA_TAGS.replace("items The", "prices The"),
        _JAVA_TAGS,
        _block(_JAVA_TAGS.replace("items The", "prices The"), "    ") + "    public int total(",
        "Scale the prices.\n\n@param prices The prices.\n@param factor The factor.",
        "/**\n     * Scale the prices.\n     *\n     * @param prices The prices.\n"
        "     * @param factor The factor.\n     */",
        "for (int p : prices) {\n    sum += p;\n}",
        "        // sum the prices\n        for (int p : prices) {\n            sum += p;\n"
        "        }\n",
    ),
    "c": Lang(
        "shop.c", "c", "c", "total", "scale", "sum - count",
        _C_TAGS, _JAVA_TAGS,
        _block(_C_TAGS, "") + "int total(",
        "Scale the prices.\n\n@param items The items.\n@param count How many.\n@param factor By.",
        "/**\n * Scale the prices.\n *\n * @param items The items.\n * @param count How many.\n"
        " * @param factor By.\n */",
        "for (int i = 0; i < count; i++) {\n    sum += items[i].price;\n}",
        "    // sum the prices\n    for (int i = 0; i < count; i++) {\n"
        "        sum += items[i].price;\n    }\n",
    ),
    "cpp": Lang(
        "shop.cpp", "cpp", "cpp", "total", "scale", "sum - discount",
        _JAVA_TAGS, _JAVA_TAGS + "\n@param extra More.",
        _block(_JAVA_TAGS, "") + "int total(",
        _SCALE,
        _replaced(_SCALE, ""),
        "for (const auto& it : items) {\n    sum += it.price;\n}",
        "    // sum the prices\n    for (const auto& it : items) {\n"
        "        sum += it.price;\n    }\n",
    ),
}  # fmt: skip


@pytest.fixture(params=list(LANGS))
def lang(request: pytest.FixtureRequest) -> Lang:
    return LANGS[str(request.param)]


def _open(client: LspilotClient, workspace: Path, lang: Lang) -> str:
    return client.open_doc(workspace / lang.file, lang.text, language_id=lang.language_id)


def _function_region(text: str, lang: Lang) -> str:
    """The lines of `total` (header to closing brace), as the fix rewrites them."""
    header = text.index(lang.doc_block.rsplit("\n", 1)[-1])
    start = text.rfind("\n", 0, header) + 1
    end = text.index("\n}", text.index(lang.ret)) + 2
    if text[start].isspace():  # a method: its closing brace is indented too
        end = text.index("}", text.index(lang.ret)) + 1
    return text[start:end]


@SHARED
async def test_code_actions(
    lang: Lang, shared_sessions: SharedSessions, shared_model_server: FakeModelServer
) -> None:
    # One server for every language (a file each): the counts are this test's differences.
    fake = shared_model_server
    client = await shared_sessions.get("visual-studio-code", resolve=True)
    asked = len(fake.chat_requests())
    uri = _open(client, shared_sessions.workspace, lang)
    original = lang.text

    # Document this: the first answer documents the wrong parameters, the repair fixes it.
    fake.script(lang.wrong_doc, lang.doc)
    actions = await actions_at(client, uri, client.find(uri, lang.ret))
    assert await perform(client, uri, pick(actions, f"Document {lang.total}"))
    assert lang.doc_block in client.text(uri)
    assert len(fake.chat_requests()) - asked == 2
    documented = client.text(uri)

    # An existing doc comment is replaced.
    fake.script(lang.update)
    actions = await actions_at(client, uri, client.find(uri, "factor", 1))
    assert await perform(client, uri, pick(actions, f"Update docstring of {lang.scale}"))
    assert lang.update_block in client.text(uri)
    assert "Old note" not in client.text(uri) and "old note" not in client.text(uri)
    client.change_doc(uri, documented)

    # Generate from comment: code that breaks the syntax is refused and repaired.
    broken = lang.code.rsplit("\n", 1)[0]
    fake.script(fenced(broken, lang.fence), fenced(lang.code, lang.fence))
    before = len(fake.chat_requests())
    actions = await actions_at(client, uri, client.find(uri, "sum the prices"))
    assert await perform(client, uri, pick(actions, "Generate code from comment"))
    assert lang.code_block in client.text(uri)
    assert len(fake.chat_requests()) - before == 2
    client.change_doc(uri, original)

    # Fix another server's diagnostic: the function is rewritten.
    region = _function_region(original, lang)
    fixed = region.replace(lang.ret, "sum")
    fake.script(fenced(textwrap.dedent(fixed), lang.fence))
    diagnostic = types.Diagnostic(
        range=client.range_of(uri, lang.ret), message="The result may be negative.", source="x"
    )
    actions = await actions_at(client, uri, client.find(uri, lang.ret), diagnostics=[diagnostic])
    line = diagnostic.range.start.line + 1  # Fix titles name the diagnostic's line
    title = f"Fix: The result may be negative. (line {line})"
    assert await perform(client, uri, pick(actions, title))
    assert client.text(uri) == original.replace(region, fixed)

    # Explain never edits.
    fake.script(f"`{lang.total}` **adds** prices.")
    actions = await actions_at(client, uri, client.find(uri, "sum", 1))
    edits, shown = len(client.applied_edits), len(client.shown_documents)
    assert not await perform(client, uri, pick(actions, f"Explain {lang.total}"))
    assert len(client.applied_edits) == edits
    await client.wait_for(lambda: len(client.shown_documents) > shown, what="showDocument")
    prompt = fake.prompt_text(fake.chat_requests()[-1])
    assert "sum the prices" in prompt


@SHARED
async def test_hover_explains_the_definition(
    lang: Lang, shared_sessions: SharedSessions, shared_model_server: FakeModelServer
) -> None:
    # One server for every language (a file each; review diagnostics off).
    shared_model_server.responder = lambda body: "It adds up the prices."
    client = await shared_sessions.get("neovim")
    asked = len(shared_model_server.chat_requests())
    uri = _open(client, shared_sessions.workspace, lang)
    use = client.text(uri).rindex(f"{lang.total}(") + 1  # the call in the last function
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position(uri, use),
        )
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    assert "It adds up the prices." in result.contents.value
    assert f"{lang.total}(" in result.contents.value  # the signature, from the tree
    assert result.range is not None and client.text_in(uri, result.range) == lang.total
    requests = shared_model_server.chat_requests()[asked:]
    assert len(requests) == 1 and lang.ret in shared_model_server.prompt_text(requests[0])


def _review(lang: Lang) -> Any:
    def answer(body: dict[str, Any]) -> str:
        prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
        issues = []
        if lang.ret in prompt:
            issues.append(
                {
                    "quote": lang.ret,
                    "message": "May be negative.",
                    "severity": "warning",
                    "fix": None,
                }
            )
        return json.dumps({"issues": issues})

    return answer


async def test_review_diagnostics_chunk_by_chunk(
    lang: Lang, model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = _review(lang)
    async with lsp_session(
        "neovim", env=model_env, workspace=workspace, pull_diagnostics=False
    ) as client:
        uri = _open(client, workspace, lang)
        chunks = len(parse(lang.text, language_of(lang.file) or "").chunks())
        await client.wait_for(
            lambda: len(model_server.chat_requests()) >= chunks, what="every chunk's review"
        )
        published = await client.wait_for_diagnostics(uri, lambda p: len(p.diagnostics) == 1)
        [diagnostic] = published.diagnostics
        assert client.text_in(uri, diagnostic.range) == lang.ret
        assert diagnostic.message == "May be negative." and diagnostic.source == "lspilot"
        names = [
            m.group(1)
            for r in model_server.chat_requests()
            if (m := re.search(r"Review `([^`]+)`", model_server.prompt_text(r)))
        ]
        assert len(names) == chunks  # each chunk reviewed once
        assert len({n for n in names if n != "<module>"}) == len(
            [n for n in names if n != "<module>"]
        )

        # An edit in one chunk re-reviews only that chunk; the others come from the cache.
        seen = len(model_server.chat_requests())
        text = client.text(uri)
        client.change_doc(uri, text.replace("sum the prices", "add the prices up"))
        await client.wait_for(
            lambda: len(model_server.chat_requests()) > seen, what="the changed chunk's review"
        )
        again = await client.wait_for_diagnostics(
            uri, lambda p: p.version == 2 and len(p.diagnostics) == 1
        )
        assert client.text_in(uri, again.diagnostics[0].range) == lang.ret
        assert len(model_server.chat_requests()) - seen == 1


_CPP_LINES = _JAVA_TAGS.replace("Sum the prices.", "Sum the prices (line style).")


@pytest.mark.parametrize("engine", ["openai", "offline"])
async def test_cpp_doc_comments_in_the_line_style(
    engine: str, request: pytest.FixtureRequest, workspace: Path
) -> None:
    """`codeActions.cDocStyle` = "line": Document this writes `///` lines above the function."""
    env = request.getfixturevalue("model_env" if engine == "openai" else "offline_env")
    lang = LANGS["cpp"]
    async with session(
        "neovim", {**env, "LSPILOT_CODE_ACTIONS__C_DOC_STYLE": "line"}, workspace, True
    ) as client:
        if engine == "openai":
            request.getfixturevalue("model_server").script(_CPP_LINES)
        uri = _open(client, workspace, lang)
        actions = await actions_at(client, uri, client.find(uri, lang.ret))
        assert await perform(client, uri, pick(actions, "Document total"))
        text = (
            _CPP_LINES
            if engine == "openai"
            else "Total.\n\n@param items The items.\n@param discount The discount.\n"
            "@return The int."
        )
        assert _lines(text, "", "///") + "int total(" in client.text(uri)
        assert client.text(uri).count("/**") == lang.text.count("/**")  # no block was added


# ---- languages without a grammar ------------------------------------------------------------

RUBY = """# Prices — en € 🎉
class Cart
  def total(items)
    # sum the prices
  end
end

puts Cart.new.total([1, 2])
"""


async def test_other_languages_get_what_text_allows(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: json.dumps({"issues": []})
    async with session("visual-studio-code", model_env, workspace, True) as client:
        uri = client.open_doc(workspace / "cart.rb", RUBY, language_id="ruby")
        other = client.open_doc(workspace / "notes.zz", "a = 1\n# b\n", language_id="zzlang")
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.status", arguments=[uri])
        )
        assert status["file"]["language"] == "ruby"
        assert status["file"]["features"] == [
            "generate",
            "explain selection",
            "fix",
            "review by blocks",
        ]
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.status", arguments=[other])
        )
        assert status["file"]["features"] == ["explain selection", "fix", "review by blocks"]

        # No grammar, no guess: no hover, no "Document this", no model call for them.
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=client.position(uri, client.find(uri, "total([")),
            )
        )
        assert hover is None
        actions = await actions_at(client, uri, client.find(uri, "def total"))
        assert [a.title for a in actions] == []
        assert [a.title for a in await actions_at(client, other, 7)] == []  # `# b`: unknown
        assert model_server.chat_requests() == []

        # Generate from comment: below the comment, at its indentation.
        model_server.script(fenced("items.sum", "ruby"))
        actions = await actions_at(client, uri, client.find(uri, "sum the prices"))
        assert await perform(client, uri, pick(actions, "Generate code from comment"))
        assert "    # sum the prices\n    items.sum\n  end\n" in client.text(uri)

        # Explain a selection.
        model_server.script("It prints the total.")
        start = client.find(uri, "puts")
        actions = await actions_at(client, uri, start, start + len("puts Cart.new.total([1, 2])"))
        assert not await perform(client, uri, pick(actions, "Explain selection"))
        await client.wait_for(lambda: client.shown_documents, what="showDocument")


async def test_other_languages_are_reviewed_by_blocks(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    def answer(body: dict[str, Any]) -> str:
        prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
        issues = [{"quote": "[1, 2]", "message": "Literal.", "severity": "warning", "fix": None}]
        return json.dumps({"issues": issues if "puts" in prompt else []})

    model_server.responder = answer
    async with lsp_session(
        "neovim", env=model_env, workspace=workspace, pull_diagnostics=False
    ) as client:
        uri = client.open_doc(workspace / "cart.rb", RUBY, language_id="ruby")
        published = await client.wait_for_diagnostics(uri, lambda p: len(p.diagnostics) == 1)
        assert client.text_in(uri, published.diagnostics[0].range) == "[1, 2]"
        assert len(model_server.chat_requests()) == 1  # 8 lines: one block
