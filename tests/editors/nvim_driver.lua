-- Drives a headless Neovim through lspilot's features, like a user would, and writes what it
-- saw to $LSPILOT_TEST_RESULT (JSON). Run by test_neovim.py as:
--   nvim --headless --clean -u tests/editors/nvim_driver.lua
-- $LSPILOT_TEST_SPEC (JSON) says where things are: plugin dir, file, positions, timeouts.
-- Every wait is vim.wait on editor state with a timeout; the test adds a hard process timeout.
vim.g.loaded_python3_provider = 0
vim.g.loaded_node_provider = 0
vim.g.loaded_perl_provider = 0
vim.g.loaded_ruby_provider = 0
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.opt.more = false

local spec = vim.json.decode(vim.env.LSPILOT_TEST_SPEC)
local R = { steps = {}, notifications = {}, messages = {}, selects = {} }

vim.opt.rtp:prepend(spec.plugin)

-- Headless Neovim cannot answer prompts: record them and pick the first choice.
vim.ui.select = function(items, opts, on_choice)
  local labels = {}
  for i, item in ipairs(items) do
    labels[i] = opts and opts.format_item and opts.format_item(item) or tostring(item.title or item)
  end
  table.insert(R.selects, labels)
  on_choice(items[1], 1)
end
vim.notify = function(msg, level)
  table.insert(R.notifications, { msg = msg, level = level })
end

-- The plugin's defaults (lsp/lspilot.lua) plus what a test needs: the server must die with
-- nvim (not detached), and message requests are answered instead of prompting.
vim.lsp.config('lspilot', {
  detached = false,
  handlers = {
    ['window/showMessageRequest'] = function(_, params)
      table.insert(R.messages, params)
      return params.actions and params.actions[1] or vim.NIL
    end,
    ['window/showMessage'] = function(_, params)
      table.insert(R.messages, params)
    end,
  },
})
vim.lsp.enable('lspilot')

local function wait(ms, cond, what)
  if not vim.wait(ms, cond, 50) then
    error('timed out after ' .. ms .. ' ms waiting for ' .. what, 0)
  end
end

local function step(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  table.insert(R.steps, { name = name, ok = ok, err = ok and vim.NIL or tostring(err) })
  return ok
end

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n') .. '\n'
end

local function floats()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      table.insert(out, win)
    end
  end
  return out
end

local function finish()
  local f = assert(io.open(spec.result, 'w'))
  f:write(vim.json.encode(R))
  f:close()
  vim.cmd('qa!')
end

local function run()
  local buf = vim.api.nvim_get_current_buf()
  local client

  step('attach', function()
    local quit = nil
    wait(spec.timeout_ms, function()
      client = vim.lsp.get_clients({ bufnr = buf, name = 'lspilot' })[1]
      for _, n in ipairs(R.notifications) do
        if tostring(n.msg):find('quit with exit code', 1, true) then
          quit = n.msg
        end
      end
      return quit ~= nil or (client ~= nil and client.initialized == true)
    end, 'lspilot to attach')
    assert(quit == nil, quit)
    R.offset_encoding = client.offset_encoding
    R.server_info = client.server_info or vim.NIL
    R.cmd = client.config.cmd
    R.init_options = client.config.init_options or vim.NIL
    local caps = client.server_capabilities or {}
    R.capabilities = {
      hover = caps.hoverProvider ~= nil,
      codeAction = caps.codeActionProvider ~= nil,
      positionEncoding = caps.positionEncoding or vim.NIL,
    }
  end)
  if not client then
    return finish()
  end

  step('status', function()
    local resp = require('lspilot')._request_sync(
      client,
      'workspace/executeCommand',
      { command = 'lspilot.status' },
      spec.timeout_ms,
      buf
    )
    assert(resp and resp.result, 'no status: ' .. vim.inspect(resp and resp.err))
    R.status = resp.result
  end)

  step('diagnostics', function()
    local function ours()
      return vim.tbl_filter(function(d)
        return d.source == 'lspilot'
      end, vim.diagnostic.get(buf))
    end
    wait(spec.timeout_ms, function()
      return #ours() > 0
    end, 'lspilot diagnostics')
    R.diagnostics = {}
    for _, d in ipairs(ours()) do
      table.insert(R.diagnostics, {
        lnum = d.lnum,
        col = d.col,
        end_lnum = d.end_lnum,
        end_col = d.end_col,
        message = d.message,
        severity = d.severity,
        source = d.source,
      })
    end
  end)

  step('hover', function()
    vim.api.nvim_win_set_cursor(0, { spec.hover.line + 1, spec.hover.col })
    vim.lsp.buf.hover()
    local text = ''
    wait(spec.timeout_ms, function()
      for _, win in ipairs(floats()) do
        local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
        text = table.concat(lines, '\n')
        if text:find(spec.hover.expect, 1, true) then
          return true
        end
      end
      return false
    end, 'a hover window showing "' .. spec.hover.expect .. '"')
    R.hover = text
    for _, win in ipairs(floats()) do
      vim.api.nvim_win_close(win, true)
    end
  end)
  if not R.hover then
    -- Say what the server answered, for the failure message.
    local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
    R.hover_raw = vim.lsp.buf_request_sync(buf, 'textDocument/hover', params, spec.timeout_ms) or vim.NIL
  end

  step('code action', function()
    vim.api.nvim_win_set_cursor(0, { spec.action.line + 1, spec.action.col })
    local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
    params.context = { diagnostics = {}, triggerKind = 1 }
    local resp = client:request_sync('textDocument/codeAction', params, spec.timeout_ms, buf)
    R.action_titles = {}
    for _, a in ipairs(resp and resp.result or {}) do
      table.insert(R.action_titles, a.title)
    end
    local tick = vim.api.nvim_buf_get_changedtick(buf)
    vim.lsp.buf.code_action({
      apply = true,
      filter = function(a)
        return a.title == spec.action.title
      end,
    })
    wait(spec.timeout_ms, function()
      return vim.api.nvim_buf_get_changedtick(buf) ~= tick
        and buffer_text(buf):find(spec.action.expect, 1, true) ~= nil
    end, 'the buffer to get "' .. spec.action.expect .. '"')
  end)
  R.text = buffer_text(buf)

  step('LspilotStatus', function()
    local before = #R.notifications
    vim.cmd('LspilotStatus')
    wait(spec.timeout_ms, function()
      return #R.notifications > before
    end, ':LspilotStatus to report')
    R.status_command = R.notifications[#R.notifications].msg
    R.statusline = require('lspilot').statusline()
  end)

  step('checkhealth', function()
    vim.cmd('checkhealth lspilot')
    local hbuf = vim.api.nvim_get_current_buf()
    wait(spec.timeout_ms, function()
      return buffer_text(hbuf):find('engine', 1, true) ~= nil
    end, 'the health report')
    R.health = buffer_text(hbuf)
  end)

  finish()
end

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = xpcall(function()
        vim.cmd.edit(vim.fn.fnameescape(spec.file))
        run()
      end, debug.traceback)
      if not ok then
        table.insert(R.steps, { name = 'driver', ok = false, err = tostring(err) })
        finish()
      end
    end)
  end,
})
