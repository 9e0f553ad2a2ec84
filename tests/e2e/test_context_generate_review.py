"""Workspace context for *Generate code from comment* and for review, end to end.

A fixture workspace where shop/main.py calls helpers defined in two other files
(shop/text.py, shop/money.py), one in the same file (`_tax`), and one in a file that
`.lspilotignore` excludes (shop/vault.py). The fake model's log is the evidence: what each
prompt holds, and how many requests an edit causes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import WAIT_TIMEOUT, LspilotClient, lsp_session
from tests.e2e.test_context import TEXT, VAULT, lay_out_shop
from tests.fakes.model_server import FakeModelServer, RecordedRequest, message_text

MAIN = '''from shop.text import slugify
from shop import money
from shop.vault import vault_key


def _tax(cents: int) -> int:
    """The tax on a price in cents."""
    return cents // 5  # TAX_BODY


def checkout(title: str, cents: int) -> str:
    """The receipt line of one purchase."""
    # join slugify(title) and money.format_price(cents + _tax(cents))
    pass


def label(title: str) -> str:
    """The label of a product."""
    return slugify(title).upper()


def price(cents: int) -> str:
    """A price with its tax."""
    return money.format_price(cents + _tax(cents))


def alone(n: int) -> int:
    """Twice n."""
    return n * 2


def secret() -> str:
    """The key."""
    return vault_key()
'''

SLUGIFY_SIGNATURE = 'def slugify(value: str, sep: str = "-") -> str:'
FORMAT_SIGNATURE = 'def format_price(cents: int, currency: str = "EUR") -> str:'
NEVER = ("SLUGIFY_BODY", "FORMAT_BODY", "UNRELATED", "EXCLUDED_VAULT")
# main.py's chunks: the imports, _tax, checkout, label, price, alone, secret.
MAIN_CHUNKS = 7
TEXT_CHUNKS = 2


@pytest.fixture
def shop(workspace: Path) -> Path:
    """The fixture workspace: this file's main.py beside test_context.py's helpers."""
    return lay_out_shop(workspace, MAIN)


def _answer(body: dict[str, Any]) -> str:
    """A review gets no issues (valid JSON, so it is cached); Generate gets code."""
    prompt = "\n".join(message_text(m) for m in body.get("messages") or [])
    if '"issues"' in prompt:
        return json.dumps({"issues": []})
    return "```python\nreturn slugify(title)\n```"


@pytest.fixture
def fake(model_server: FakeModelServer) -> FakeModelServer:
    model_server.responder = _answer
    return model_server


def reviewed_code(request: RecordedRequest) -> str:
    """The code a review request is about (its last code block, after the context)."""
    return FakeModelServer.prompt_text(request).rsplit("```python", 1)[-1]


def reviews_of(fake: FakeModelServer, name: str) -> list[str]:
    """The prompts of the review requests about the function `name`."""
    return [
        FakeModelServer.prompt_text(r)
        for r in fake.chat_requests()
        if '"issues"' in FakeModelServer.prompt_text(r) and f"def {name}(" in reviewed_code(r)
    ]


async def index_ready(client: LspilotClient) -> None:
    await client.wait_for_status(lambda s: bool((s.get("context") or {}).get("ready")))


async def passes_done(client: LspilotClient, passes: int) -> None:
    """Until `passes` review passes have finished (each ends with a status notification)."""
    await client.wait_for_status(
        lambda s: (s.get("diagnostics") or {}).get("passes", 0) >= passes,
        timeout=WAIT_TIMEOUT,
    )


async def generate(client: LspilotClient, uri: str, needle: str) -> None:
    """Pick *Generate code from comment* on the comment holding `needle`; wait for its edit."""
    offset = client.find(uri, needle) + 2
    position = client.position(uri, offset)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=position, end=position),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    found = [
        a
        for a in actions or []
        if isinstance(a, types.CodeAction) and a.title == "Generate code from comment"
    ]
    assert found, actions
    resolved = await client.code_action_resolve_async(found[0])
    assert resolved.edit is not None


def generate_env(model_env: dict[str, str], **extra: str) -> dict[str, str]:
    """Review off: every request these tests count is a Generate's."""
    return {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "false", **extra}


async def test_generate_gets_the_helpers_signatures_and_docstrings_only(
    shop: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    async with lsp_session(env=generate_env(model_env), workspace=shop) as client:
        await index_ready(client)
        uri = client.open_doc(shop / "shop/main.py", MAIN)
        client.open_doc(shop / "shop/vault.py", VAULT)  # excluded, open in the editor too
        await generate(client, uri, "# join slugify")
        [request] = fake.chat_requests()
        sent = fake.prompt_text(request)
        # Named in the comment, from two other files and from this file.
        assert SLUGIFY_SIGNATURE in sent and "Turn a title into a URL slug." in sent
        assert FORMAT_SIGNATURE in sent and "Format cents as a price" in sent
        assert "def _tax(cents: int) -> int:" in sent and "The tax on a price" in sent
        assert "from shop.text import slugify" in sent
        for absent in NEVER:
            assert absent not in sent, absent

        # The context is part of the cache key: the same request again is served from it;
        # a new signature of a helper it used asks the model again.
        await generate(client, uri, "# join slugify")
        assert len(fake.chat_requests()) == 1
        text_uri = client.open_doc(shop / "shop/text.py", TEXT)
        client.change_doc(text_uri, TEXT.replace('sep: str = "-"', 'sep: str = "_"'))
        await generate(client, uri, "# join slugify")
        assert len(fake.chat_requests()) == 2
        assert 'sep: str = "_"' in fake.prompt_text(fake.chat_requests()[1])


async def test_generate_budget_cuts_other_files_first(
    shop: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    # Room for the imports it uses and not for the helpers' signatures.
    env = generate_env(model_env, LSPILOT_CONTEXT__TASKS__GENERATE="40")
    async with lsp_session(env=env, workspace=shop) as client:
        await index_ready(client)
        uri = client.open_doc(shop / "shop/main.py", MAIN)
        await generate(client, uri, "# join slugify")
        sent = fake.prompt_text(fake.chat_requests()[0])
        assert "from shop.text import slugify" in sent
        assert "def slugify" not in sent and "def format_price" not in sent


async def test_review_prompts_hold_what_each_chunk_calls_and_nothing_else(
    shop: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    async with lsp_session(env=model_env, workspace=shop) as client:
        await index_ready(client)
        client.open_doc(shop / "shop/main.py", MAIN)
        client.open_doc(shop / "shop/vault.py", VAULT)  # excluded: never reviewed
        await passes_done(client, 1)
        assert len(fake.chat_requests()) == MAIN_CHUNKS
        [price] = reviews_of(fake, "price")
        assert FORMAT_SIGNATURE in price and "Format cents as a price" in price
        assert "def _tax(cents: int) -> int:" in price and "The tax on a price" in price
        assert "def slugify" not in price and "def label" not in price  # not what it calls
        [label] = reviews_of(fake, "label")
        assert SLUGIFY_SIGNATURE in label and "Turn a title into a URL slug." in label
        assert "def format_price" not in label and "def _tax" not in label
        [alone] = reviews_of(fake, "alone")
        assert "def " not in alone.rsplit("```python", 1)[0]  # calls nothing: no context
        everything = fake.all_prompt_text()
        for absent in NEVER:
            assert absent not in everything, absent
        # Another chunk's body travels only in its own review, never as context.
        holders = [fake.prompt_text(r) for r in fake.chat_requests()]
        assert [p for p in holders if "TAX_BODY" in p] == reviews_of(fake, "_tax")


async def test_review_budget_cuts_other_files_first(
    shop: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    # Room for the same file's helper, not for the other files'.
    env = {**model_env, "LSPILOT_CONTEXT__TASKS__REVIEW": "30"}
    async with lsp_session(env=env, workspace=shop) as client:
        await index_ready(client)
        client.open_doc(shop / "shop/main.py", MAIN)
        await passes_done(client, 1)
        [price] = reviews_of(fake, "price")
        assert "def _tax(cents: int) -> int:" in price
        assert "def format_price" not in price


async def test_a_helpers_new_signature_re_reviews_exactly_the_chunks_that_call_it(
    shop: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    async with lsp_session(env=model_env, workspace=shop) as client:
        await index_ready(client)
        client.open_doc(shop / "shop/main.py", MAIN)
        await passes_done(client, 1)
        text_uri = client.open_doc(shop / "shop/text.py", TEXT)
        await passes_done(client, 2)
        assert len(fake.chat_requests()) == MAIN_CHUNKS + TEXT_CHUNKS
        fake.reset()

        # slugify's signature changes in the editor (never saved): its own chunk, then the
        # chunk of main.py that calls it is reviewed again, and nothing else (`checkout`
        # only names it in a comment).
        client.change_doc(text_uri, TEXT.replace('sep: str = "-"', 'sep: str = "_"'))
        await passes_done(client, 4)
        names = sorted(
            name
            for name in ("slugify", "unrelated_text_helper", "_tax", "checkout", "label", "price")
            for _ in reviews_of(fake, name)
        )
        assert names == ["label", "slugify"]
        assert len(fake.chat_requests()) == 2
        assert 'sep: str = "_"' in reviews_of(fake, "label")[0]

        # A body-only edit of the same helper changes no caller's context.
        fake.reset()
        changed = TEXT.replace('sep: str = "-"', 'sep: str = "_"')
        client.change_doc(text_uri, changed.replace("# SLUGIFY_BODY", "# reworded"))
        await passes_done(client, 5)
        assert [name for name in ("slugify",) for _ in reviews_of(fake, name)] == ["slugify"]
        assert len(fake.chat_requests()) == 1


async def test_lspilot_check_makes_the_editors_review_inputs(
    shop: Path, model_env: dict[str, str], fake: FakeModelServer
) -> None:
    # The editor reviews main.py (its chunks' contexts hold helpers of other files) ...
    async with lsp_session(env=model_env, workspace=shop) as client:
        await index_ready(client)
        client.open_doc(shop / "shop/main.py", MAIN)
        await passes_done(client, 1)
    assert len(fake.chat_requests()) == MAIN_CHUNKS
    assert reviews_of(fake, "label") and SLUGIFY_SIGNATURE in reviews_of(fake, "label")[0]
    # ... and `lspilot check` of the same file, sharing the cache, asks the model nothing:
    # its review inputs, contexts included, are the editor's.
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "lspilot", "check", "shop/main.py", "--no-progress"],
        cwd=shop,
        env=model_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(fake.chat_requests()) == MAIN_CHUNKS
