"""Versioned edits: computed on one document text, applied to another only when safe.

A model answer takes seconds; the user keeps typing. An `EditPlan` remembers the text its
edits were computed on, and each `Edit` names the *anchor* it depends on (the definition it
documents, the comment block it answers, the lines it fixes). When the document moved on,
`EditPlan.rebase` finds every anchor again, unchanged, in the new text and shifts its edit;
if any anchor changed, vanished or became ambiguous the whole plan is refused. Either every
edit lands where it was meant to or none does.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from lsprotocol import types
from pygls.workspace import TextDocument

from lspilot.positions import lsp_range


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` by `new_text`; valid while ``text[anchor_start:anchor_end]``
    is unchanged (the anchor contains or borders the replaced range)."""

    start: int
    end: int
    new_text: str
    anchor_start: int
    anchor_end: int


@dataclass(frozen=True)
class EditPlan:
    """Edits to one document, computed on `text` (at `version`)."""

    uri: str
    version: int | None
    text: str
    edits: tuple[Edit, ...]

    def rebase(self, current: str) -> tuple[Edit, ...] | None:
        """The edits moved onto `current`, or None when any of them is no longer safe."""
        if current == self.text:
            return self.edits
        moved = []
        for edit in self.edits:
            shifted = _relocate(self.text, current, edit)
            if shifted is None:
                return None
            moved.append(shifted)
        moved.sort(key=lambda e: (e.start, e.end))
        if any(a.end > b.start for a, b in itertools.pairwise(moved)):
            return None
        return tuple(moved)


def _occurrences(haystack: str, needle: str) -> list[int]:
    found, at = [], haystack.find(needle)
    while at != -1:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def _relocate(old: str, new: str, edit: Edit) -> Edit | None:
    """`edit` shifted to where its anchor stands in `new`, if it is there, unchanged, once.

    Identical anchors (two equal comment blocks) are told apart by their order: the k-th
    copy in the old text is the k-th in the new one, provided the number of copies is the
    same; otherwise we cannot know which one the user meant and refuse.
    """
    anchor = old[edit.anchor_start : edit.anchor_end]
    if not anchor.strip():
        return None
    before = _occurrences(old, anchor)
    after = _occurrences(new, anchor)
    if len(before) != len(after) or edit.anchor_start not in before:
        return None
    delta = after[before.index(edit.anchor_start)] - edit.anchor_start
    # An insertion at the anchor's end (generate) depends on what follows being a line start.
    if edit.start == edit.end == edit.anchor_end:
        at = edit.anchor_end + delta
        if at < len(new) and at > 0 and new[at - 1] not in "\n":
            return None
    return replace(
        edit,
        start=edit.start + delta,
        end=edit.end + delta,
        anchor_start=edit.anchor_start + delta,
        anchor_end=edit.anchor_end + delta,
    )


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """`text` with non-overlapping `edits` applied (the order given does not matter)."""
    out = text
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        out = out[: edit.start] + edit.new_text + out[edit.end :]
    return out


def workspace_edit(
    doc: TextDocument, edits: Sequence[Edit], *, document_changes: bool
) -> types.WorkspaceEdit:
    """An LSP edit of `doc` at its current version, positions in the negotiated encoding.

    With `document_changes` (the client supports them) the edit names the version, so a
    client that has moved on rejects it instead of applying it in the wrong place.
    """
    text_edits = [
        types.TextEdit(range=lsp_range(doc, e.start, e.end), new_text=e.new_text)
        for e in sorted(edits, key=lambda e: (e.start, e.end))
    ]
    if document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=doc.uri, version=doc.version
                    ),
                    edits=list(text_edits),
                )
            ]
        )
    return types.WorkspaceEdit(changes={doc.uri: text_edits})
