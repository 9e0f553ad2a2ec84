"""lspilot: a language server that brings an LLM into every LSP editor."""

__version__ = "0.1.0"
