"""The review's link to the workspace context: what each chunk calls from elsewhere.

A chunk's review input holds the signatures and docstrings of what it calls that is defined
outside it (`lspilot.context.WorkspaceContext.review_contexts`), so a plan depends on the
symbol index as well as on the document: plans are memoized per index generation, the
index is brought up to date before a review pass, and when it changes the open documents
planned before are reviewed again (only chunks whose context changed reach the model).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pygls.uris import to_fs_path

from lspilot.features.workspace import feature_of, review_context

if TYPE_CHECKING:
    from pygls.workspace import TextDocument

    from lspilot.session import LspilotServer
    from lspilot.syntax import Source


class ChunkContexts:
    """Per server: the index generation each document's plan was made with."""

    def __init__(self, ls: LspilotServer) -> None:
        self.ls = ls
        self.generations: dict[str, int] = {}
        self.reviewing: str | None = None

    def generation(self) -> int:
        """The index generation now (0 without an index)."""
        workspace = feature_of(self.ls)
        return workspace.generation() if workspace is not None else 0

    def fresh(self, uri: str) -> bool:
        """Whether the plan of `uri` was made with the index as it is now."""
        return self.generations.get(uri) == self.generation()

    def plan_args(self, doc: TextDocument, source: Source) -> tuple[Any, ...]:
        """The arguments of `lspilot.review.runner.plan` for `doc`; records the generation."""
        self.generations[doc.uri] = self.generation()
        workspace = feature_of(self.ls)
        context = workspace.context if workspace is not None else None
        if not self.ls.settings.context.enabled:
            context = None
        return (source, source.language, context, to_fs_path(doc.uri))

    async def before_review(self, uri: str) -> None:
        """Bring the index up to date (open documents) before a pass plans `uri`."""
        self.reviewing = uri
        try:
            await review_context(self.ls)
        finally:
            self.reviewing = None

    def forget(self, uri: str) -> None:
        """`uri` was closed."""
        self.generations.pop(uri, None)

    def watch(self, review: Callable[[str], None]) -> None:
        """Call `review(uri)` for each document planned with an older index when it changes
        (not the one whose pass is bringing the index up to date: it plans next anyway)."""

        def changed() -> None:
            for uri in list(self.generations):
                if uri != self.reviewing and not self.fresh(uri):
                    review(uri)

        workspace = feature_of(self.ls)
        if workspace is not None:
            workspace.listeners.append(changed)
