import { createInterface } from 'node:readline/promises';
import { UsageError } from './run.ts';

// Destructive commands ask first. Without a terminal there is nobody to ask: a script must
// say --yes, and is refused before anything is done rather than left hanging on a prompt.

/** Throws a usage error (exit 2) when confirmation is needed but stdin is not a terminal. */
export function requireConfirmable(yes: boolean, what: string): void {
  if (!yes && !process.stdin.isTTY) {
    throw new UsageError(`refusing to ${what} without confirmation: stdin is not a terminal. Pass --yes.`);
  }
}

/** Asks a yes/no question on stderr; only "y" or "yes" is a yes. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
