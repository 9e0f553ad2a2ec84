"""The review core, free of LSP: anchoring, chunk bookkeeping, debouncing, the review pass.

Used by the diagnostics feature (`lspilot.features.diagnostics`) and by `lspilot check`.
"""
