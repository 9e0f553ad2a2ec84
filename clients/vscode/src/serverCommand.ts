// Pure: how to start the server, and the one error message when that is not possible.
import * as path from 'node:path';

export interface ServerConfig {
  command: string;
  args: string[];
  python: string | null;
}

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Human-readable, for the log and error messages. */
  display: string;
}

export interface Lookup {
  /** Whether `file` exists and is executable. */
  isExecutable(file: string): boolean;
  /** The PATH entries. */
  pathEntries: string[];
  /** Executable suffixes to try (Windows: PATHEXT); [''] elsewhere. */
  suffixes: string[];
}

/** The command line that starts the server, from the `lspilot.server.*` settings. */
export function serverLaunch(config: ServerConfig): ServerLaunch {
  const args = config.args.length > 0 ? [...config.args] : ['serve'];
  if (config.python && config.python.trim() !== '') {
    const python = config.python.trim();
    const full = ['-m', 'lspilot', ...args];
    return { command: python, args: full, display: [python, ...full].join(' ') };
  }
  const command = config.command.trim() === '' ? 'lspilot' : config.command.trim();
  return { command, args, display: [command, ...args].join(' ') };
}

/** Where `command` resolves: itself when it has a directory part, else the first PATH hit. */
export function resolveCommand(command: string, lookup: Lookup): string | undefined {
  const hasDir = command.includes('/') || command.includes('\\');
  if (hasDir) {
    return lookup.suffixes.map((s) => command + s).find((c) => lookup.isExecutable(c));
  }
  for (const dir of lookup.pathEntries) {
    if (dir === '') {
      continue;
    }
    for (const suffix of lookup.suffixes) {
      const candidate = path.join(dir, command + suffix);
      if (lookup.isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The single actionable message shown when the server cannot start. */
export function notFoundMessage(launch: ServerLaunch, viaPython: boolean): string {
  if (viaPython) {
    return (
      `lspilot: the Python interpreter "${launch.command}" (lspilot.server.python) was not found. ` +
      'Set lspilot.server.python to an interpreter that has lspilot installed ' +
      '(pip install lspilot), or clear it to use lspilot.server.command.'
    );
  }
  return (
    `lspilot: the server command "${launch.command}" was not found on PATH. ` +
    'Install it with "pipx install lspilot" (or "pip install lspilot"), ' +
    'or set lspilot.server.command to its full path, ' +
    'or set lspilot.server.python to an interpreter that has lspilot installed.'
  );
}

/** The message when the interpreter exists but has no lspilot module. */
export function missingModuleMessage(python: string): string {
  return (
    `lspilot: the interpreter "${python}" (lspilot.server.python) has no lspilot module. ` +
    `Install it with "${python} -m pip install lspilot", or pick another interpreter.`
  );
}

/** The message when the server started but keeps exiting. */
export function crashedMessage(launch: ServerLaunch, restarts: number): string {
  return (
    `lspilot: the server ("${launch.display}") stopped ${restarts} times in a row and will not ` +
    'be restarted. See "lspilot: Show log" for its output, fix the cause, then run ' +
    '"lspilot: Restart server".'
  );
}

/**
 * Decides whether a closed connection is restarted: at most `maxRestarts` within `windowMs`.
 * Keeps a crash-looping server from restarting forever.
 */
export class RestartBudget {
  private readonly times: number[] = [];

  constructor(
    private readonly maxRestarts = 3,
    private readonly windowMs = 3 * 60 * 1000,
  ) {}

  /** Records a crash at `now`; returns whether a restart is still allowed. */
  allow(now: number): boolean {
    this.times.push(now);
    while (this.times.length > 0 && now - this.times[0] > this.windowMs) {
      this.times.shift();
    }
    return this.times.length <= this.maxRestarts;
  }

  get count(): number {
    return this.times.length;
  }

  reset(): void {
    this.times.length = 0;
  }
}
