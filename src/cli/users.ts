import { Command } from 'commander';
import { z } from 'zod';
import { hashPassword } from '../apikeys/index.ts';
import type { Store, User, UserStatus } from '../db/index.ts';
import { userJson } from '../http/routes/serialize.ts';
import { createUser, deleteUser, findUser, setUserStatus, USERNAME_PATTERN } from '../identity/index.ts';
import { confirm, requireConfirmable } from './confirm.ts';
import { EXIT } from './exit.ts';
import { addDatabaseFlags, cliOperator, withOperatorStore } from './operator.ts';
import { readStdin, run, UsageError } from './run.ts';

// `latchkey users …`: the same identity operations as /api/v1/users, acting as the CLI
// operator (see operator.ts). Exit codes: 1 when an operation is refused or fails (last
// owner, conflict, no such user), 2 for a usage error.

const email = z.email().max(320);
const username = z.string().regex(USERNAME_PATTERN);

export function usersCommand(): Command {
  const command = new Command('users').description('Create, list, suspend, activate and delete users.');

  const create = addDatabaseFlags(
    new Command('create')
      .description('Create a user (a member of the default organization).')
      .requiredOption('--email <email>', 'email address')
      .requiredOption('--username <username>', 'letters, digits, dot, dash, underscore; at most 64')
      .option('--name <name>', 'display name')
      .option('--owner', 'make the user an owner (the first user should be one)')
      .option('--password-stdin', 'read a password from standard input (so it stays out of shell history)'),
  );
  create.action(() =>
    run(create, async () => {
      const opts = create.opts<{
        email: string;
        username: string;
        name?: string;
        owner?: boolean;
        passwordStdin?: boolean;
      }>();
      if (!email.safeParse(opts.email).success)
        throw new UsageError(`"${opts.email}" is not an email address.`);
      if (!username.safeParse(opts.username).success) {
        throw new UsageError(
          `"${opts.username}" is not a valid username (letters, digits, dot, dash, underscore; at most 64).`,
        );
      }
      let hashedPassword: string | null = null;
      if (opts.passwordStdin) {
        const password = (await readStdin()).replace(/\r?\n$/, '');
        if (password.length < 8) throw new UsageError('The password must have at least 8 characters.');
        hashedPassword = await hashPassword(password);
      }
      const user = await withOperatorStore(create, (store) =>
        createUser(store, {
          email: opts.email,
          username: opts.username,
          name: opts.name,
          siteRoles: opts.owner ? ['owner'] : [],
          hashedPassword,
        }),
      );
      console.log(
        `Created user ${user.username} (${user.id}) with roles ${userJson(user).roles.join(', ')}.`,
      );
    }),
  );

  const list = addDatabaseFlags(
    new Command('list')
      .description('List users (system users only with --include-system).')
      .option('--json', 'print a JSON array, each user as GET /api/v1/users shows it')
      .option('--include-system', 'include system users'),
  );
  list.action(() =>
    run(list, async () => {
      const opts = list.opts<{ json?: boolean; includeSystem?: boolean }>();
      const users = await withOperatorStore(list, (store) => allUsers(store, opts.includeSystem === true));
      if (opts.json) console.log(JSON.stringify(users.map(userJson), null, 2));
      else printTable(users);
    }),
  );

  const status = (name: string, target: UserStatus, description: string, done: string) => {
    const child = addDatabaseFlags(
      new Command(name).description(description).argument('<user>', 'user id or username'),
    );
    child.action((ref: string) =>
      run(child, async () => {
        checkRef(ref);
        const user = await withOperatorStore(child, async (store) =>
          setUserStatus(store, await findUser(store, ref, cliOperator), target),
        );
        console.log(`${done} ${user.username}.`);
      }),
    );
    return child;
  };

  const remove = addDatabaseFlags(
    new Command('delete')
      .description('Delete a user. Asks for confirmation; without a terminal, pass --yes.')
      .argument('<user>', 'user id or username')
      .option('-y, --yes', 'do not ask for confirmation'),
  );
  remove.action((ref: string) =>
    run(remove, async () => {
      checkRef(ref);
      const yes = remove.opts<{ yes?: boolean }>().yes === true;
      requireConfirmable(yes, 'delete');
      const deleted = await withOperatorStore(remove, async (store) => {
        const user = await findUser(store, ref, cliOperator);
        if (!yes && !(await confirm(`Delete user ${user.username} <${user.email}>? [y/N] `)))
          return undefined;
        await deleteUser(store, user);
        return user;
      });
      if (!deleted) {
        console.error('latchkey: not deleted.');
        process.exit(EXIT.failure);
      }
      console.log(`Deleted ${deleted.username}.`);
    }),
  );

  command.addCommand(create);
  command.addCommand(list);
  command.addCommand(
    status('suspend', 'suspended', 'Suspend a user: they can no longer sign in.', 'Suspended'),
  );
  command.addCommand(status('activate', 'active', 'Reactivate a suspended or dormant user.', 'Activated'));
  command.addCommand(remove);
  return command;
}

// `me` means the caller in the API; the CLI acts as no user, so it would name no one.
function checkRef(ref: string): void {
  if (ref === 'me')
    throw new UsageError('"me" names the caller in the API; name the user by id or username.');
}

async function allUsers(store: Store, includeSystem: boolean): Promise<User[]> {
  const users: User[] = [];
  const limit = 500;
  for (;;) {
    const afterId = users.at(-1)?.id;
    const page = await store.listUsers({ includeSystem, limit, afterId });
    users.push(...page);
    if (page.length < limit) return users;
  }
}

function printTable(users: readonly User[]): void {
  const rows = [
    ['ID', 'USERNAME', 'EMAIL', 'STATUS', 'ROLES'],
    ...users.map((u) => {
      const j = userJson(u);
      return [j.id, j.username, j.email, j.status, j.is_system ? '(system)' : j.roles.join(',')];
    }),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  for (const r of rows)
    console.log(
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}
