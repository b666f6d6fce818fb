import { ConfigError } from '../config/index.ts';

/** Exit codes: 1 for a failure at run time, 2 for a usage or configuration error, 130 when interrupted (Ctrl-C). */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Prints an error for a person (no stack for expected failures) and exits. */
export function exitWithError(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error('latchkey: invalid configuration:');
    for (const issue of err.issues) console.error(`  ${issue.source}: ${issue.message}`);
    process.exit(EXIT.usage);
  }
  const message = err instanceof Error ? err.message : String(err);
  console.error(`latchkey: ${message}`);
  if (process.env.LATCHKEY_DEBUG && err instanceof Error) console.error(err.stack);
  process.exit(EXIT.failure);
}
