-- User commands of lspilot; the server itself starts only through
-- `vim.lsp.enable('lspilot')` (0.11+) or `require('lspilot').setup()` (0.10).
if vim.g.loaded_lspilot then
  return
end
vim.g.loaded_lspilot = true

vim.api.nvim_create_user_command('LspilotStatus', function()
  require('lspilot').show_status()
end, { desc = 'lspilot: show engine, model, requests and errors' })

vim.api.nvim_create_user_command('LspilotExplain', function(cmd)
  require('lspilot').explain({ range = cmd.range > 0 and { cmd.line1, cmd.line2 } or nil })
end, { range = true, desc = 'lspilot: explain the code at the cursor or in the range' })

vim.api.nvim_create_user_command('LspilotRestart', function()
  require('lspilot').restart()
end, { desc = 'lspilot: restart the language server' })
