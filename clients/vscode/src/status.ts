// Pure: the server's `lspilot/status` payload → the status bar item's text and tooltip.

export interface ServerStatus {
  engine?: string;
  model?: string;
  endpoint?: string | null;
  requests?: number;
  errors?: number;
  cacheHits?: number;
  cacheMisses?: number;
  breaker?: string;
  busy?: boolean | number;
  lastError?: string | null;
  [key: string]: unknown;
}

export type ClientState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusView {
  text: string;
  tooltip: string;
  /** 'error' | 'warning' | undefined — the status bar background to use. */
  severity?: 'error' | 'warning';
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/** What the status bar shows for the client state and the last server status. */
export function statusView(state: ClientState, status: ServerStatus | undefined): StatusView {
  if (state === 'failed') {
    return {
      text: '$(error) lspilot',
      tooltip: 'lspilot: the server could not start. Click for details.',
      severity: 'error',
    };
  }
  if (state === 'stopped') {
    return { text: '$(circle-slash) lspilot', tooltip: 'lspilot: server stopped' };
  }
  if (state === 'starting' || status === undefined) {
    return { text: '$(loading~spin) lspilot', tooltip: 'lspilot: starting…' };
  }
  const engine = present(status.engine) ? String(status.engine) : '?';
  const busy = status.busy === true || (typeof status.busy === 'number' && status.busy > 0);
  const breakerOpen = typeof status.breaker === 'string' && status.breaker !== 'closed';
  // The server's payload has had both spellings; accept either.
  const lastError = present(status.lastError) ? status.lastError : status.last_error;
  const cacheHits = typeof status.cacheHits === 'number' ? status.cacheHits : status.cache_hits;
  const failing = present(lastError);
  let icon = '$(sparkle)';
  if (busy) {
    icon = '$(sync~spin)';
  } else if (breakerOpen || failing) {
    icon = '$(warning)';
  }
  const lines = [`lspilot — engine: ${engine}`];
  if (present(status.model)) {
    lines.push(`model: ${String(status.model)}`);
  }
  if (present(status.endpoint)) {
    lines.push(`endpoint: ${String(status.endpoint)}`);
  }
  const counts: string[] = [];
  for (const key of ['requests', 'errors'] as const) {
    if (typeof status[key] === 'number') {
      counts.push(`${key}: ${String(status[key])}`);
    }
  }
  if (typeof cacheHits === 'number') {
    counts.push(`cacheHits: ${String(cacheHits)}`);
  }
  if (counts.length > 0) {
    lines.push(counts.join(', '));
  }
  if (present(status.breaker)) {
    lines.push(`breaker: ${String(status.breaker)}`);
  }
  if (busy) {
    lines.push('working…');
  }
  if (failing) {
    lines.push(`last error: ${String(lastError)}`);
  }
  return {
    text: `${icon} lspilot: ${engine}`,
    tooltip: lines.join('\n'),
    severity: breakerOpen ? 'error' : failing ? 'warning' : undefined,
  };
}

/** A multi-line plain-text report of the status (Show status). */
export function statusReport(status: ServerStatus): string {
  return Object.entries(status)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('\n');
}
