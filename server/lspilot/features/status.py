"""Status: what lspilot is doing, for `lspilot.status` and the `lspilot/status` notification.

Editors show it in a status bar; users read it when something seems off. It names the engine
and why it was chosen, the endpoint (never a key), counters, the breaker state, settings
problems and, when asked about a file, why that file gets no model features.
"""

from __future__ import annotations

from typing import Any

from lspilot import __version__

# A runtime import: pygls resolves command handlers' annotations when a command runs.
from lspilot.session import LspilotServer

STATUS_COMMAND = "lspilot.status"


def register(ls: LspilotServer) -> None:
    """Register the status command and the builder of the `lspilot/status` notification."""
    ls.status_builder = lambda: status_payload(ls)

    @ls.command(STATUS_COMMAND)
    async def on_status(ls: LspilotServer, *args: Any) -> dict[str, Any]:
        uri = _uri_argument(args)
        await ls.get_assistant()
        payload = status_payload(ls)
        if uri is not None:
            payload["file"] = {"uri": uri, "excluded": ls.excluded(uri), **_support(ls, uri)}
        return payload


def _uri_argument(args: tuple[Any, ...]) -> str | None:
    """`lspilot.status` takes an optional document URI (as a string or `{"uri": ...}`)."""
    for arg in args:
        if isinstance(arg, str):
            return arg
        if isinstance(arg, dict) and isinstance(arg.get("uri"), str):
            return str(arg["uri"])
        if isinstance(arg, list | tuple):
            found = _uri_argument(tuple(arg))
            if found:
                return found
    return None


# The task each feature needs from the engine (fixes of lspilot's own findings need none).
_FEATURE_TASKS = {
    "hover": "explain",
    "document": "document",
    "generate": "generate",
    "explain": "explain",
    "explain selection": "explain",
    "review": "review",
    "review by blocks": "review",
}


def _support(ls: LspilotServer, uri: str) -> dict[str, Any]:
    """The language lspilot sees a document as, and which features it gets there: what the
    syntax allows, less what the engine cannot do (the offline engine does not generate)."""
    from lspilot.model import Task
    from lspilot.syntax import language_of, plain_language
    from lspilot.syntax.text import features

    doc = ls.workspace.text_documents.get(uri)
    language_id = doc.language_id if doc is not None else None
    language = language_of(uri, language_id)
    full = language is not None
    language = language or plain_language(uri, language_id)
    assistant = ls.assistant_or_none
    engine = assistant.engine if assistant is not None else None
    available = [
        feature
        for feature in features(language, full)
        if engine is None
        or feature not in _FEATURE_TASKS
        or engine.supports(Task(_FEATURE_TASKS[feature]))
    ]
    return {"language": language, "features": available}


def status_payload(ls: LspilotServer) -> dict[str, Any]:
    """The status as a JSON-ready dict (camelCase keys, no secrets)."""
    payload: dict[str, Any] = {
        "version": __version__,
        "provider": ls.settings.provider,
        "engineReason": ls.engine_reason,
        "settingsProblems": [p.message for p in ls.settings_problems],
    }
    assistant = ls.assistant_or_none
    if assistant is None:
        payload.update({"engine": "starting", "busy": False})
        return payload
    from lspilot.model import Task  # here, once the assistant runs: pydantic is loaded

    stats = assistant.stats()
    payload.update({_camel(key): value for key, value in stats.items()})
    payload["engineReason"] = ls.engine_reason or payload.get("engineReason", "")
    payload["busy"] = bool(stats.get("in_flight"))
    payload["tokenCounting"] = token_line(stats, assistant.engine.describe())
    payload["tasks"] = {
        task.value: "available"
        if assistant.engine.supports(task)
        else f"not available: the {assistant.engine.id} engine cannot {task.value} code;"
        " configure a model (see `lspilot doctor`)"
        for task in Task
    }
    for name, section in ls.status_sections.items():
        payload[name] = {_camel(k): v for k, v in section().items()}
    return payload


def token_line(stats: dict[str, Any], described: dict[str, str]) -> str:
    """Tokens so far and who counted the last answer's: the server, the model's tokenizer or
    an estimate (`tokensCounted`: "reported", "tokenizer", "estimated")."""
    counted = stats.get("tokens_counted") or ""
    counter = described.get("token_counter") or ""
    how = {
        "reported": "reported by the server",
        "tokenizer": f"counted by the model's tokenizer ({counter})",
        "estimated": "estimated: the server sent no usage"
        + (" and has no tokenizer lspilot can ask" if counter == "none" else ""),
    }.get(counted, "")
    totals = f"{stats.get('tokens_in', 0)} in, {stats.get('tokens_out', 0)} out"
    return f"{totals}; {how}" if how else totals


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)
