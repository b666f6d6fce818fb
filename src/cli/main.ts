import { Command, CommanderError } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { dbcryptCommand } from './dbcrypt.ts';
import { EXIT, exitWithError } from './exit.ts';
import { gitCredentialCommand } from './git-credential.ts';
import { keysCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';
import { serverCommand } from './server.ts';
import { usersCommand } from './users.ts';

export function buildProgram(): Command {
  const program = new Command('latchkey')
    .description('Latchkey: an access plane for developer platforms and AI agents.')
    .version(pkg.version, '-v, --version');
  program.addCommand(serverCommand());
  program.addCommand(migrateCommand());
  program.addCommand(usersCommand());
  program.addCommand(keysCommand());
  program.addCommand(dbcryptCommand());
  program.addCommand(gitCredentialCommand());
  // Usage errors exit 2 (as config errors do) so scripts can tell them from failures.
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    for (const child of cmd.commands) exitOverride(child);
  };
  exitOverride(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  exitWithError(err);
}
