"""Review diagnostics, in pieces: anchoring, chunk bookkeeping, debouncing, the review pass.

`lspilot.features.diagnostics.register` wires these to the server; everything here except
`runner` and `publisher` is pure and unit-tested without a server.
"""
