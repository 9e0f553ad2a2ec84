--- lspilot: an LLM in Neovim's LSP client (hover explanations, code actions, review
--- diagnostics). Neovim >= 0.11: `vim.lsp.enable('lspilot')` (this plugin ships
--- `lsp/lspilot.lua`). Neovim 0.10: `require('lspilot').setup(opts)`.
local M = {}

--- Last `lspilot/status` payload per client id.
---@type table<integer, table>
M.state = {}

local has_011 = vim.fn.has('nvim-0.11') == 1

--- Defaults of the client configuration (a `vim.lsp.Config`).
M.defaults = {
  name = 'lspilot',
  cmd = { 'lspilot', 'serve' },
  filetypes = {
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'go', 'rust', 'java', 'c', 'cpp',
  },
  root_markers = { 'pyproject.toml', '.lspilot.toml', 'setup.py', 'setup.cfg', 'package.json', '.git' },
  -- Server settings go here, camelCase like the server's settings model, under `lspilot`:
  --   settings = { lspilot = { model = 'gpt-4o-mini', hover = { timeoutMs = 2000 } } }
  -- They go out as initializationOptions and answer `workspace/configuration`.
  settings = {},
}

local function request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function request_sync(client, method, params, timeout_ms, bufnr)
  if has_011 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

--- Handler of the server's `lspilot/status` notification.
local function on_status(_, result, ctx)
  if type(result) ~= 'table' then
    return
  end
  M.state[ctx.client_id] = result
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'LspilotStatus',
    modeline = false,
    data = { client_id = ctx.client_id, status = result },
  })
  vim.cmd('redrawstatus')
end

--- The client configuration: the defaults merged with `opts`.
---@param opts table|nil
---@return table
function M.config(opts)
  local cfg = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  cfg.handlers = vim.tbl_extend('keep', cfg.handlers or {}, { ['lspilot/status'] = on_status })
  local user_before_init = cfg.before_init
  cfg.before_init = function(params, config)
    -- Read the settings at start so `vim.lsp.config('lspilot', { settings = ... })` counts.
    local settings = (config.settings or {}).lspilot
    -- An empty Lua table would be sent as a JSON array; the server wants an object.
    if type(settings) ~= 'table' or next(settings) == nil then
      settings = vim.empty_dict()
    end
    params.initializationOptions = { lspilot = settings }
    if user_before_init then
      user_before_init(params, config)
    end
  end
  return cfg
end

--- Start lspilot for the configured filetypes. On 0.11+ this is `vim.lsp.config` +
--- `vim.lsp.enable`; on 0.10 a FileType autocommand calling `vim.lsp.start`.
---@param opts table|nil
function M.setup(opts)
  if has_011 then
    vim.lsp.config('lspilot', opts or {})
    vim.lsp.enable('lspilot')
    return
  end
  local cfg = M.config(opts)
  local function start(bufnr)
    if vim.bo[bufnr].buftype ~= '' then
      return
    end
    local root = vim.fs.root(bufnr, cfg.root_markers) or vim.fn.getcwd()
    vim.lsp.start(vim.tbl_extend('force', cfg, { root_dir = root }), { bufnr = bufnr })
  end
  vim.api.nvim_create_autocmd('FileType', {
    group = vim.api.nvim_create_augroup('lspilot', { clear = true }),
    pattern = cfg.filetypes,
    callback = function(args)
      start(args.buf)
    end,
  })
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(cfg.filetypes, vim.bo[buf].filetype) then
      start(buf)
    end
  end
end

--- lspilot clients, of the buffer when `bufnr` is given.
---@param bufnr integer|nil
---@return vim.lsp.Client[]
function M.clients(bufnr)
  return vim.lsp.get_clients({ name = 'lspilot', bufnr = bufnr })
end

--- The server's status as a table (`workspace/executeCommand lspilot.status`), falling back
--- to the last `lspilot/status` notification.
---@param client vim.lsp.Client
---@param timeout_ms integer|nil
---@return table|nil status, string|nil err
function M.fetch_status(client, timeout_ms)
  local resp, err = request_sync(
    client,
    'workspace/executeCommand',
    { command = 'lspilot.status' },
    timeout_ms or 3000
  )
  if resp and resp.result then
    M.state[client.id] = resp.result
    return resp.result, nil
  end
  local reason = err or (resp and resp.err and resp.err.message) or 'no answer'
  return M.state[client.id], reason
end

--- Lines describing a status table, for messages and :checkhealth.
---@param status table
---@return string[]
function M.format_status(status)
  local keys = { 'engine', 'model', 'endpoint', 'requests', 'errors', 'cacheHits', 'breaker', 'busy', 'lastError' }
  local lines = {}
  local seen = {}
  for _, k in ipairs(keys) do
    if status[k] ~= nil and status[k] ~= vim.NIL then
      table.insert(lines, string.format('%s: %s', k, vim.inspect(status[k])))
    end
    seen[k] = true
  end
  local rest = vim.tbl_keys(status)
  table.sort(rest)
  for _, k in ipairs(rest) do
    if not seen[k] and status[k] ~= vim.NIL then
      table.insert(lines, string.format('%s: %s', k, vim.inspect(status[k])))
    end
  end
  return lines
end

--- :LspilotStatus
function M.show_status()
  local clients = M.clients()
  if #clients == 0 then
    vim.notify('lspilot: not running (open a Python file; see :checkhealth lspilot)', vim.log.levels.WARN)
    return
  end
  for _, client in ipairs(clients) do
    local status, err = M.fetch_status(client)
    if status then
      local lines = M.format_status(status)
      table.insert(lines, 1, string.format('lspilot (client %d)', client.id))
      vim.notify(table.concat(lines, '\n'), vim.log.levels.INFO)
    else
      vim.notify('lspilot: no status: ' .. tostring(err), vim.log.levels.WARN)
    end
  end
end

--- A short statusline component: `lspilot: openai` / `lspilot: openai …` / `lspilot: error`.
---@return string
function M.statusline()
  local clients = M.clients(vim.api.nvim_get_current_buf())
  if #clients == 0 then
    return ''
  end
  local status = M.state[clients[1].id]
  if not status then
    return 'lspilot'
  end
  local text = 'lspilot: ' .. tostring(status.engine or '?')
  if status.busy then
    text = text .. ' …'
  end
  local last = M.last_error(status)
  if last then
    text = text .. ' (error)'
  end
  return text
end

--- The last error of a status table (`lastError`, or `last_error`), or nil when none.
---@param status table
---@return string|nil
function M.last_error(status)
  local last = status.lastError
  if last == nil or last == vim.NIL then
    last = status.last_error
  end
  if last == nil or last == vim.NIL or last == '' then
    return nil
  end
  return type(last) == 'string' and last or vim.inspect(last)
end

--- :LspilotExplain: run the server's "Explain" code action for the cursor or the range.
---@param opts {range: integer[]|nil}|nil
function M.explain(opts)
  opts = opts or {}
  local params = {
    filter = function(action)
      return type(action.title) == 'string' and action.title:match('^Explain') ~= nil
    end,
    apply = true,
  }
  if opts.range then
    local last = vim.api.nvim_buf_get_lines(0, opts.range[2] - 1, opts.range[2], false)[1] or ''
    params.range = { start = { opts.range[1], 0 }, ['end'] = { opts.range[2], #last } }
  end
  vim.lsp.buf.code_action(params)
end

--- :LspilotRestart: stop lspilot clients and start them again on their buffers.
function M.restart()
  for _, client in ipairs(M.clients()) do
    local bufs = vim.tbl_keys(client.attached_buffers or {})
    local config = client.config
    if has_011 then
      client:stop()
    else
      client.stop()
    end
    local timer = assert(vim.uv.new_timer())
    timer:start(100, 100, vim.schedule_wrap(function()
      if has_011 and not client:is_stopped() or not has_011 and not client.is_stopped() then
        return
      end
      timer:stop()
      timer:close()
      for _, buf in ipairs(bufs) do
        if vim.api.nvim_buf_is_valid(buf) then
          vim.lsp.start(config, { bufnr = buf })
        end
      end
    end))
  end
end

M._request = request
M._request_sync = request_sync

return M
