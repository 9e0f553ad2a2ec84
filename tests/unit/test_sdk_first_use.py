"""The openai SDK's first-use work happens in the import thread, not in the first request.

The first streamed completion used to import the chat resource and anyio's asyncio backend,
evaluate the request's type hints and build the chunk's pydantic models on the event loop
(40-60 ms in which no keystroke was answered). A fresh interpreter shows what the import
thread leaves done.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from lspilot.assistant.engines import sdk
sdk.import_in_background().result(timeout=120)
from openai.types.chat import ChatCompletionChunk
from openai._utils import _transform
print(json.dumps({
    "missing": [name for name in sdk.FIRST_USE_MODULES if name not in sys.modules],
    "chunk_built": ChatCompletionChunk.__pydantic_complete__,
    "hints_cached": _transform.get_type_hints.cache_info().currsize,
}))
"""


def test_the_import_thread_does_the_first_requests_work() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=180, check=True
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["missing"] == []
    assert probe["chunk_built"] is True
    assert probe["hints_cached"] > 0
