import type { Command } from 'commander';
import { IdentityError } from '../identity/index.ts';
import { EXIT, exitWithError } from './exit.ts';

/** A usage error: printed, exit 2, before the database is touched. */
export class UsageError extends Error {}

/** Runs a subcommand body, mapping its errors to messages and exit codes. */
export async function run(command: Command, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`latchkey ${command.parent?.name() ?? 'users'} ${command.name()}: ${err.message}`);
      process.exit(EXIT.usage);
    }
    if (err instanceof IdentityError) {
      console.error(`latchkey: ${err.message}`);
      if (err.detail) console.error(err.detail);
      process.exit(EXIT.failure);
    }
    exitWithError(err);
  }
}

/** All of standard input, for secrets that must not appear in argv or shell history. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
