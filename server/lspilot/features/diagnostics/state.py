"""What the diagnostics feature keeps per document: the last view and the last plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from lspilot.review.runner import Planned


@dataclass(frozen=True)
class View:
    """The diagnostics of one document version, as last computed."""

    version: int | None
    result_id: str
    items: list[types.Diagnostic]


@dataclass(frozen=True)
class Plan:
    """What a review pass of one document version is about: its text and chunks.

    The chunks hold spans of `text` (the document's own string) and digests, not copies.
    """

    version: int | None
    text: str
    chunks: list[Planned]
    keys: frozenset[bytes]
