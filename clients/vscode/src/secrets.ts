// Pure: the secrets the extension keeps in VS Code's SecretStorage and hands to the server in
// its environment (never in settings.json, never in initializationOptions). No `vscode` import,
// so this runs under node's test runner.

export interface SecretSpec {
  /** The SecretStorage key. */
  key: string;
  /** The environment variable the server reads it from. */
  env: string;
  /** What it is, for prompts, messages and the log. */
  label: string;
  /** The input box prompt of the "Set" command. */
  prompt: string;
}

export const API_KEY: SecretSpec = {
  key: 'lspilot.apiKey',
  env: 'OPENAI_API_KEY',
  label: 'API key',
  prompt: 'Stored in VS Code secret storage and given to the server as OPENAI_API_KEY; never written to settings.',
};

export const REDIS_PASSWORD: SecretSpec = {
  key: 'lspilot.redisPassword',
  env: 'LSPILOT_REDIS_PASSWORD',
  label: 'team cache password',
  prompt:
    'The password of the team cache (lspilot.cache.sharedUrl). Stored in VS Code secret storage and given ' +
    'to the server as LSPILOT_REDIS_PASSWORD; never written to settings.',
};

/** Every secret, in the order the log names them. */
export const SECRETS: readonly SecretSpec[] = [API_KEY, REDIS_PASSWORD];

/** Reads a stored secret (SecretStorage.get in the extension). */
export type SecretReader = (key: string) => PromiseLike<string | undefined> | string | undefined;

/**
 * The server's environment: `base` with each stored, non-blank secret in its variable. A secret
 * not stored leaves whatever `base` has (e.g. the variable exported in the user's shell).
 * Returns the environment and the labels of the secrets it used (for the log; never the values).
 */
export async function serverEnv(
  base: Readonly<Record<string, string | undefined>>,
  read: SecretReader,
  secrets: readonly SecretSpec[] = SECRETS,
): Promise<{ env: Record<string, string | undefined>; used: string[] }> {
  const env: Record<string, string | undefined> = { ...base };
  const used: string[] = [];
  for (const secret of secrets) {
    const value = (await read(secret.key))?.trim();
    if (value) {
      env[secret.env] = value;
      used.push(secret.label);
    }
  }
  return { env, used };
}

