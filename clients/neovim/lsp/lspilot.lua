-- lspilot for Neovim >= 0.11: `vim.lsp.enable('lspilot')` picks this file up from the
-- runtimepath. Override any field with `vim.lsp.config('lspilot', { ... })`.
-- Neovim 0.10 users call `require('lspilot').setup(opts)` instead.
return require('lspilot').config()
