import { Command, CommanderError } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { EXIT, exitWithError } from './exit.ts';

// Each command's module is loaded only when that command runs: `latchkey git-credential`
// runs on every git operation an agent makes, and loading the server's modules (fastify,
// the database driver, JOSE, the MCP SDK…) with it took most of a second. Top-level help
// and unknown commands load them all, so `latchkey --help` still lists every command.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  server: async () => (await import('./server.ts')).serverCommand(),
  migrate: async () => (await import('./migrate.ts')).migrateCommand(),
  users: async () => (await import('./users.ts')).usersCommand(),
  keys: async () => (await import('./keys.ts')).keysCommand(),
  dbcrypt: async () => (await import('./dbcrypt.ts')).dbcryptCommand(),
  'git-credential': async () => (await import('./git-credential.ts')).gitCredentialCommand(),
};

export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('latchkey')
    .description('Latchkey: an access plane for developer platforms and AI agents.')
    .version(pkg.version, '-v, --version');
  const named = argv[2];
  const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  for (const name of wanted) program.addCommand(await (COMMANDS[name] as () => Promise<Command>)());
  // Usage errors exit 2 (as config errors do) so scripts can tell them from failures.
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    for (const child of cmd.commands) exitOverride(child);
  };
  exitOverride(program);
  return program;
}

try {
  await (await buildProgram(process.argv)).parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  exitWithError(err);
}
