// The lspilot VS Code extension: starts the lspilot language server over stdio and adds
// commands, a status bar item and the secrets (API key, team cache password) in SecretStorage.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  type Executable,
  type LanguageClientOptions,
  LanguageClient,
  State,
} from 'vscode-languageclient/node';

import {
  crashedMessage,
  missingModuleMessage,
  notFoundMessage,
  resolveCommand,
  RestartBudget,
  serverLaunch,
  type Lookup,
  type ServerLaunch,
} from './serverCommand';
import { API_KEY, REDIS_PASSWORD, SECRETS, type SecretSpec, serverEnv } from './secrets';
import { explicitSettings, type Json, needsRestart, serverKeys } from './settings';
import { type ClientState, type ServerStatus, statusReport, statusView } from './status';

export const LANGUAGES = [
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'go',
  'rust',
  'java',
  'c',
  'cpp',
];

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let lastStatus: ServerStatus | undefined;
let state: ClientState = 'starting';
let failure: string | undefined;
let settingKeys: string[] = [];
const budget = new RestartBudget();

function render(): void {
  const view = statusView(state, lastStatus);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor =
    view.severity === 'error'
      ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : view.severity === 'warning'
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : undefined;
  statusItem.show();
}

function log(line: string): void {
  output.appendLine(`[${new Date().toISOString()}] ${line}`);
}

function processLookup(): Lookup {
  const isWindows = process.platform === 'win32';
  return {
    isExecutable(file: string): boolean {
      try {
        const stat = fs.statSync(file);
        if (!stat.isFile()) {
          return false;
        }
        if (isWindows) {
          return true;
        }
        fs.accessSync(file, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    pathEntries: (process.env.PATH ?? '').split(path.delimiter),
    suffixes: isWindows ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''],
  };
}

function hasLspilotModule(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import lspilot'], { timeout: 20000 }, (error) => resolve(!error));
  });
}

/** Shows the one error for a server that cannot start; no retry follows. */
function fail(message: string): void {
  failure = message;
  state = 'failed';
  render();
  log(message);
  void vscode.window.showErrorMessage(message, 'Open settings', 'Show log').then((choice) => {
    if (choice === 'Open settings') {
      void vscode.commands.executeCommand('workbench.action.openSettings', 'lspilot.server');
    } else if (choice === 'Show log') {
      output.show(true);
    }
  });
}

function serverConfig(): { command: string; args: string[]; python: string | null } {
  const config = vscode.workspace.getConfiguration('lspilot.server');
  return {
    command: config.get<string>('command', 'lspilot'),
    args: config.get<string[]>('args', ['serve']),
    python: config.get<string | null>('python', null),
  };
}

/** The settings the user set, for a folder (scopeUri) or the whole window. */
function userSettings(scopeUri?: string): { [key: string]: Json } {
  const config = vscode.workspace.getConfiguration('lspilot', scopeUri ? vscode.Uri.parse(scopeUri) : undefined);
  return explicitSettings(settingKeys, (key) => config.inspect(key));
}

function clientOptions(launch: ServerLaunch): LanguageClientOptions {
  return {
    documentSelector: LANGUAGES.flatMap((language) => [
      { scheme: 'file', language },
      { scheme: 'untitled', language },
    ]),
    outputChannel: output,
    initializationOptions: () => ({ lspilot: userSettings() }),
    middleware: {
      workspace: {
        configuration: async (params, token, next) => {
          const answer = await next(params, token);
          if (!Array.isArray(answer)) {
            return answer;
          }
          return answer.map((value: unknown, i: number) => {
            const item = params.items[i];
            return item?.section === 'lspilot' ? userSettings(item.scopeUri) : value;
          });
        },
      },
    },
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        if (budget.allow(Date.now())) {
          log(`server exited; restarting (${budget.count} of 3)`);
          return { action: CloseAction.Restart, handled: true };
        }
        fail(crashedMessage(launch, budget.count));
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    },
    initializationFailedHandler: (error) => {
      fail(`lspilot: the server failed to initialize: ${String(error)}. See "lspilot: Show log".`);
      return false;
    },
  };
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  failure = undefined;
  lastStatus = undefined;
  state = 'starting';
  render();
  const config = serverConfig();
  const launch = serverLaunch(config);
  const viaPython = Boolean(config.python && config.python.trim() !== '');
  const resolved = resolveCommand(launch.command, processLookup());
  if (!resolved) {
    fail(notFoundMessage(launch, viaPython));
    return;
  }
  if (viaPython && !(await hasLspilotModule(resolved))) {
    fail(missingModuleMessage(resolved));
    return;
  }
  // Secrets go to the server in its environment only (never settings, never the log).
  const { env, used } = await serverEnv(process.env, (key) => context.secrets.get(key));
  // No `transport`: an Executable is spoken to over stdio without an extra --stdio flag.
  const executable: Executable = { command: resolved, args: launch.args, options: { env } };
  const from = used.length > 0 ? ` (${used.join(', ')} from secret storage)` : '';
  log(`starting ${resolved} ${launch.args.join(' ')}${from}`);
  const next = new LanguageClient('lspilot', 'lspilot', executable, clientOptions(launch));
  client = next;
  next.onDidChangeState((event) => {
    if (event.newState === State.Running) {
      state = 'running';
    } else if (event.newState === State.Stopped && state !== 'failed') {
      state = 'stopped';
    }
    render();
  });
  try {
    await next.start();
  } catch (error) {
    if ((state as ClientState) !== 'failed') {
      fail(`lspilot: the server did not start (${String(error)}). See "lspilot: Show log".`);
    }
    return;
  }
  next.onNotification('lspilot/status', (status: ServerStatus) => {
    lastStatus = status;
    render();
  });
  state = 'running';
  render();
  try {
    lastStatus = await fetchStatus();
    render();
  } catch (error) {
    log(`no status from the server: ${String(error)}`);
  }
}

async function stopClient(): Promise<void> {
  const current = client;
  client = undefined;
  if (current) {
    try {
      await current.stop(5000);
    } catch (error) {
      log(`stopping the server: ${String(error)}`);
    }
  }
  state = 'stopped';
  render();
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  budget.reset();
  await stopClient();
  await startClient(context);
}

async function fetchStatus(): Promise<ServerStatus | undefined> {
  if (!client || !client.isRunning()) {
    return lastStatus;
  }
  const status: unknown = await client.sendRequest('workspace/executeCommand', {
    command: 'lspilot.status',
  });
  return (status ?? undefined) as ServerStatus | undefined;
}

async function showStatus(): Promise<void> {
  if (failure) {
    fail(failure);
    return;
  }
  let status: ServerStatus | undefined;
  try {
    status = await fetchStatus();
  } catch (error) {
    log(`status: ${String(error)}`);
    status = lastStatus;
  }
  if (!status) {
    void vscode.window.showWarningMessage('lspilot: the server is not running.', 'Show log').then((c) => {
      if (c) {
        output.show(true);
      }
    });
    return;
  }
  lastStatus = status;
  render();
  log(`status:\n${statusReport(status)}`);
  const summary = `lspilot: engine ${String(status.engine ?? '?')}, model ${String(status.model ?? '?')}, ` +
    `${String(status.requests ?? 0)} requests, ${String(status.errors ?? 0)} errors` +
    (status.lastError ? ` — last error: ${String(status.lastError)}` : '');
  const choice = await vscode.window.showInformationMessage(summary, 'Show log');
  if (choice) {
    output.show(true);
  }
}

async function explainAtCursor(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    return;
  }
  const range: vscode.Range = editor.selection;
  const actions = await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>(
    'vscode.executeCodeActionProvider',
    editor.document.uri,
    range,
    undefined,
    10,
  );
  const explain = (actions ?? []).find((action) => /^Explain/.test(action.title));
  if (!explain) {
    await vscode.commands.executeCommand('editor.action.showHover');
    return;
  }
  if ('edit' in explain && explain.edit) {
    await vscode.workspace.applyEdit(explain.edit);
  }
  const command = 'command' in explain ? explain.command : undefined;
  if (typeof command === 'string') {
    await vscode.commands.executeCommand(command, ...(((explain as vscode.Command).arguments ?? []) as unknown[]));
  } else if (command) {
    await vscode.commands.executeCommand(command.command, ...((command.arguments ?? []) as unknown[]));
  }
}

async function setSecret(context: vscode.ExtensionContext, secret: SecretSpec): Promise<void> {
  const value = await vscode.window.showInputBox({
    title: `lspilot: ${secret.label}`,
    prompt: secret.prompt,
    password: true,
    ignoreFocusOut: true,
  });
  if (value === undefined) {
    return;
  }
  if (value.trim() === '') {
    await context.secrets.delete(secret.key);
  } else {
    await context.secrets.store(secret.key, value.trim());
  }
  await restart(context);
  void vscode.window.showInformationMessage(`lspilot: ${secret.label} saved; the server was restarted.`);
}

async function clearSecret(context: vscode.ExtensionContext, secret: SecretSpec): Promise<void> {
  await context.secrets.delete(secret.key);
  await restart(context);
  void vscode.window.showInformationMessage(`lspilot: ${secret.label} removed; the server was restarted.`);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('lspilot');
  const contributed = (context.extension.packageJSON as { contributes?: { configuration?: { properties?: Record<string, unknown> } } })
    .contributes?.configuration?.properties;
  settingKeys = serverKeys(contributed ?? {});
  statusItem = vscode.window.createStatusBarItem('lspilot.status', vscode.StatusBarAlignment.Right, 100);
  statusItem.name = 'lspilot';
  statusItem.command = 'lspilot.showStatus';
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand('lspilot.restartServer', () => restart(context)),
    vscode.commands.registerCommand('lspilot.showStatus', () => showStatus()),
    vscode.commands.registerCommand('lspilot.showLog', () => output.show(true)),
    vscode.commands.registerCommand('lspilot.explainAtCursor', () => explainAtCursor()),
    vscode.commands.registerCommand('lspilot.setApiKey', () => setSecret(context, API_KEY)),
    vscode.commands.registerCommand('lspilot.clearApiKey', () => clearSecret(context, API_KEY)),
    vscode.commands.registerCommand('lspilot.setRedisPassword', () => setSecret(context, REDIS_PASSWORD)),
    vscode.commands.registerCommand('lspilot.clearRedisPassword', () => clearSecret(context, REDIS_PASSWORD)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (needsRestart((section) => event.affectsConfiguration(section))) {
        log('server settings changed; restarting');
        void restart(context);
      } else if (event.affectsConfiguration('lspilot') && client?.isRunning()) {
        // The server re-reads its settings (workspace/configuration) on this notification.
        void client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { lspilot: userSettings() },
        });
      }
    }),
    context.secrets.onDidChange((event) => {
      const secret = SECRETS.find((s) => s.key === event.key);
      if (secret) {
        log(`${secret.label} changed in secret storage`);
      }
    }),
  );
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  await stopClient();
}
