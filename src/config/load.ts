import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EXTERNAL_AUTH_FILE_KEY, parseExternalAuth } from './external-auth.ts';
import { type Config, CROSS_CHECKS, flagName, OPTION_LIST, OPTIONS, type OptionDef } from './options.ts';

/** One thing wrong with the configuration, naming where the bad value came from. */
export interface ConfigIssue {
  readonly source: string;
  readonly message: string;
}

/** Raised for any invalid configuration; the CLI prints it and exits with code 2. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((i) => `${i.source}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface ConfigSources {
  /** Usually process.env. Empty values count as unset, as shells make `X=` easy to leave behind. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values given as CLI flags, by option key. */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  /** Path of a YAML or JSON config file; `LATCHKEY_CONFIG` when not given. */
  readonly configFile?: string | undefined;
  /** Typed values that win over everything (tests and embedding). */
  readonly overrides?: Partial<Config>;
}

interface Raw {
  readonly text: string;
  readonly source: string;
}

/** Reads flags, then env, then the config file, then defaults, and parses each once. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  const filePath = sources.configFile ?? nonEmpty(env.LATCHKEY_CONFIG);
  const issues: ConfigIssue[] = [];
  const file = filePath === undefined ? NO_FILE : readConfigFile(filePath, issues);

  const out: Record<string, unknown> = {};
  for (const def of OPTION_LIST) {
    const raw = pick(def, flags, env, file.options, filePath);
    if (raw === undefined) continue;
    const result = def.schema.safeParse(raw.text);
    if (result.success) {
      out[def.key] = result.data;
    } else {
      const shown = def.secret ? '' : `=${JSON.stringify(raw.text)}`;
      for (const issue of result.error.issues) {
        issues.push({ source: `${raw.source}${shown}`, message: issue.message });
      }
    }
  }
  // A list given in overrides (tests pointing providers at fakes) replaces env and file.
  const externalAuth = sources.overrides?.externalAuth ?? readExternalAuth(env, file, filePath, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const config = { ...(out as Config), externalAuth, ...sources.overrides };
  for (const check of CROSS_CHECKS) {
    const problem = check(config);
    if (problem) issues.push({ source: OPTIONS[problem.key].env, message: problem.message });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

function pick(
  def: OptionDef<unknown>,
  flags: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
  file: Readonly<Record<string, string>>,
  filePath: string | undefined,
): Raw | undefined {
  const flag = flags[def.key];
  if (flag !== undefined) return { text: flag, source: `--${flagName(def)}` };
  const fromEnv = nonEmpty(env[def.env]);
  if (fromEnv !== undefined) return { text: fromEnv, source: def.env };
  const fromFile = file[flagName(def)];
  if (fromFile !== undefined) return { text: fromFile, source: `${filePath}: ${flagName(def)}` };
  if (def.default !== undefined) return { text: def.default, source: `default of ${def.env}` };
  return undefined;
}

function readExternalAuth(
  env: Readonly<Record<string, string | undefined>>,
  file: FileValues,
  filePath: string | undefined,
  issues: ConfigIssue[],
): Config['externalAuth'] {
  const result = parseExternalAuth({ env, file: file.externalAuth, filePath });
  issues.push(...result.issues);
  return result.providers;
}

interface FileValues {
  /** Option values as text, by file key. */
  readonly options: Readonly<Record<string, string>>;
  /** The `external-auth` list as parsed; external-auth.ts checks it. */
  readonly externalAuth: unknown;
}

const NO_FILE: FileValues = { options: {}, externalAuth: undefined };

function readConfigFile(path: string, issues: ConfigIssue[]): FileValues {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    issues.push({ source: `config file ${path}`, message: reason });
    return NO_FILE;
  }
  if (parsed === null || parsed === undefined) return NO_FILE;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    issues.push({ source: `config file ${path}`, message: 'expected a mapping of option names to values' });
    return NO_FILE;
  }
  const known = new Set(OPTION_LIST.map(flagName));
  const out: Record<string, string> = {};
  let externalAuth: unknown;
  for (const [key, value] of Object.entries(parsed)) {
    // An unknown key is almost always a typo; ignoring it would silently run with a default.
    if (key === EXTERNAL_AUTH_FILE_KEY) {
      externalAuth = value;
    } else if (!known.has(key)) {
      issues.push({ source: `${path}: ${key}`, message: 'unknown option (see docs/config.md)' });
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out[key] = String(value);
    } else {
      issues.push({ source: `${path}: ${key}`, message: 'expected a string, number or boolean' });
    }
  }
  return { options: out, externalAuth };
}

// Loaded only when a config file is given: the YAML parser is ~70 modules that most
// deployments (env-configured containers) never need resident.
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
