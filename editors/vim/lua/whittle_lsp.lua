-- Starts `whittle lsp` for whittle recipes in Neovim's built-in client (0.7 and later):
--   require('whittle_lsp').setup()                 -- `whittle` on $PATH
--   require('whittle_lsp').setup({ cmd = { '/path/to/whittle', 'lsp' } })
-- One server for every recipe of the session; its diagnostics, hover (K), completion
-- (omnifunc, <C-x><C-o>), formatting, symbols, go to definition and code actions are Neovim's own.
local M = {}

function M.setup(opts)
  opts = opts or {}
  local cmd = opts.cmd or { 'whittle', 'lsp' }
  local client
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'whittle',
    callback = function(args)
      if not client or vim.lsp.client_is_stopped(client) then
        client = vim.lsp.start_client({ name = 'whittle', cmd = cmd, root_dir = vim.fn.getcwd() })
      end
      if client then
        vim.lsp.buf_attach_client(args.buf, client)
        vim.bo[args.buf].omnifunc = 'v:lua.vim.lsp.omnifunc'
      end
    end,
  })
end

return M
