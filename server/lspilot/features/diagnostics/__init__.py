"""Review diagnostics while editing: the feature (`feature`) and LSP conversion (`report`)."""

from lspilot.features.diagnostics.feature import ReviewDiagnostics, register

__all__ = ["ReviewDiagnostics", "register"]
