--- :checkhealth lspilot — the server binary, its version, the engine and the last error.
local M = {}

local function resolved_config()
  if vim.fn.has('nvim-0.11') == 1 then
    local ok, cfg = pcall(function()
      return vim.lsp.config.lspilot
    end)
    if ok and cfg then
      return cfg
    end
  end
  return require('lspilot').config()
end

--- The command that prints the version: the server command minus its serve arguments.
local function version_cmd(cmd)
  local out = {}
  for _, arg in ipairs(cmd) do
    if arg == 'serve' or arg == '--stdio' then
      break
    end
    table.insert(out, arg)
  end
  table.insert(out, '--version')
  return out
end

function M.check()
  local health = vim.health
  health.start('lspilot')

  if vim.fn.has('nvim-0.10') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.10 or newer is needed')
  end

  local cfg = resolved_config()
  local cmd = cfg.cmd
  if type(cmd) ~= 'table' then
    health.info('server command is a function; cannot check the binary')
  else
    local exe = vim.fn.exepath(cmd[1])
    if exe == '' then
      health.error(
        string.format('server binary `%s` not found on PATH', cmd[1]),
        {
          'pip install lspilot (or pipx install lspilot)',
          "or set cmd: vim.lsp.config('lspilot', { cmd = { '/path/to/python', '-m', 'lspilot', 'serve' } })",
        }
      )
    else
      health.ok('server binary: ' .. exe)
      local ok, result = pcall(function()
        return vim.system(version_cmd(cmd), { text = true }):wait(10000)
      end)
      if ok and result and result.code == 0 then
        health.ok('version: ' .. vim.trim(result.stdout or ''))
      else
        local why = tostring(result)
        if ok and result then
          why = vim.trim(result.stderr or '') .. ' (exit ' .. tostring(result.code) .. ')'
        end
        health.warn('`' .. table.concat(version_cmd(cmd), ' ') .. '` failed: ' .. why)
      end
    end
  end

  if vim.env.OPENAI_API_KEY and vim.env.OPENAI_API_KEY ~= '' then
    health.ok('OPENAI_API_KEY is set')
  else
    health.info('OPENAI_API_KEY is not set (the server uses a base URL, a local Ollama or its offline engine)')
  end

  local lspilot = require('lspilot')
  local clients = lspilot.clients()
  if #clients == 0 then
    health.info('no lspilot client is running (open a file of: ' .. table.concat(cfg.filetypes or {}, ', ') .. ')')
    return
  end
  for _, client in ipairs(clients) do
    health.ok(string.format('client %d running, position encoding %s', client.id, tostring(client.offset_encoding)))
    local status, err = lspilot.fetch_status(client, 3000)
    if not status then
      health.warn('no status from the server: ' .. tostring(err))
    else
      health.ok('engine: ' .. tostring(status.engine) .. ', model: ' .. tostring(status.model))
      if status.endpoint and status.endpoint ~= vim.NIL then
        health.info('endpoint: ' .. tostring(status.endpoint))
      end
      local last = lspilot.last_error(status)
      if last then
        health.warn('last error: ' .. last)
      else
        health.ok('last error: none')
      end
    end
  end
end

return M
