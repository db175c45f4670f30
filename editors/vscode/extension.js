// Starts `whittle lsp` for whittle recipes: its diagnostics, hover, completion, formatting,
// symbols, go to definition and quick fixes come from the server.
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('whittle').get('path') || 'whittle';
  client = new LanguageClient(
    'whittle',
    'whittle',
    { command, args: ['lsp'] },
    { documentSelector: [{ scheme: 'file', language: 'whittle' }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
