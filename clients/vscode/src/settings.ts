// Pure helpers for the settings the extension sends to the server (no `vscode` import, so
// they run under node's test runner).

/** Keys under `lspilot` that belong to the client, not to the server's settings model. */
export const CLIENT_ONLY_KEYS: readonly string[] = ['server', 'trace'];

/** Settings (dotted, below `lspilot.`) whose change needs a server restart. */
export const RESTART_SECTIONS: readonly string[] = ['lspilot.server'];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON copy of `value` without functions or undefined (e.g. a WorkspaceConfiguration). */
export function toJson(value: unknown): Json {
  if (value === null || value === undefined) {
    return null;
  }
  if (Array.isArray(value)) {
    return value.map((item) => toJson(item));
  }
  if (isPlainObject(value)) {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === 'function' || item === undefined) {
        continue;
      }
      out[key] = toJson(item);
    }
    return out;
  }
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    return value;
  }
  return null;
}

/**
 * The `lspilot` section as the server wants it: a nested camelCase mapping with the
 * client-only keys (`server`, `trace`) removed. The server rejects unknown keys.
 */
export function serverSettings(section: unknown): { [key: string]: Json } {
  const json = toJson(section);
  if (!isPlainObject(json)) {
    return {};
  }
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(json)) {
    if (!CLIENT_ONLY_KEYS.includes(key)) {
      out[key] = value;
    }
  }
  return out;
}

/** initializationOptions sent with `initialize`. */
export function initializationOptions(section: unknown): { lspilot: { [key: string]: Json } } {
  return { lspilot: serverSettings(section) };
}

/**
 * Answer items of `workspace/configuration`: `lspilot` (or a key below it) gets the server's
 * view; other sections are passed through.
 */
export function configurationAnswer(section: string | undefined, value: unknown): unknown {
  if (section === 'lspilot') {
    return serverSettings(value);
  }
  return value;
}

/** Whether a configuration change (tested with `affects(section)`) needs a server restart. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SECTIONS.some((section) => affects(section));
}

/** What `WorkspaceConfiguration.inspect(key)` reports (the parts used here). */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** Server setting keys (below `lspilot.`) from the contributed configuration's property names. */
export function serverKeys(contributed: Record<string, unknown>): string[] {
  return Object.keys(contributed)
    .filter((key) => key.startsWith('lspilot.'))
    .map((key) => key.slice('lspilot.'.length))
    .filter((key) => !CLIENT_ONLY_KEYS.includes(key.split('.')[0]));
}

/**
 * Only the settings the user set (user, workspace or folder level), nested. Defaults are left
 * out on purpose: VS Code reports every default as a value, and sending those would hide the
 * server's other sources (pyproject.toml `[tool.lspilot]`, `.lspilot.toml`, `LSPILOT_*`).
 */
export function explicitSettings(
  keys: readonly string[],
  inspect: (key: string) => Inspected | undefined,
): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const key of keys) {
    const info = inspect(key);
    if (!info) {
      continue;
    }
    const value = info.workspaceFolderValue ?? info.workspaceValue ?? info.globalValue;
    if (value === undefined) {
      continue;
    }
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (!isPlainObject(next)) {
        node[part] = {};
      }
      node = node[part] as { [key: string]: Json };
    }
    node[parts[parts.length - 1]] = toJson(value);
  }
  return out;
}
