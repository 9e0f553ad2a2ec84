"""End-to-end tests: pytest-lsp drives the real server over stdio."""
