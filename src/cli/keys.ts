import { Command } from 'commander';
import { findUserKey, issueKey, KEY_NAME_PATTERN, parseScopes } from '../apikeys/index.ts';
import { formatAllowList, parseAllowList } from '../authz/index.ts';
import { parseDuration } from '../config/index.ts';
import { keyJson } from '../http/routes/keys.ts';
import { findUser, IdentityError } from '../identity/index.ts';
import { addDatabaseFlags, cliOperator, withOperatorStore } from './operator.ts';
import { run, UsageError } from './run.ts';

// `latchkey keys …`: API keys of a user, as /api/v1/users/{user}/keys manages them.
// The key itself is printed once, by `create`, and never again.

const DEFAULT_LIFETIME = '720h';

export function keysCommand(): Command {
  const command = new Command('keys').description('Create, list and delete API keys.');

  const create = addDatabaseFlags(
    new Command('create')
      .description('Create an API key; prints it once.')
      .requiredOption('--user <user>', 'id or username of the key owner')
      .requiredOption('--name <name>', 'a name unique among the user’s keys')
      .option('--scope <scope...>', 'scopes (default latchkey:all)')
      .option('--allow <type:id...>', 'allow-list entries (default *:*)')
      .option('--lifetime <duration>', 'how long the key lasts', DEFAULT_LIFETIME),
  );
  create.action(() =>
    run(create, async () => {
      const o = create.opts<{
        user: string;
        name: string;
        scope?: string[];
        allow?: string[];
        lifetime: string;
      }>();
      if (!KEY_NAME_PATTERN.test(o.name)) throw new UsageError(`"${o.name}" is not a valid key name.`);
      const scopes = parseScopes(o.scope ?? []);
      if (!scopes.ok) throw new UsageError(scopes.error);
      const allow = parseAllowList(o.allow ?? []);
      if (!allow.ok) throw new UsageError(allow.error);
      const lifetimeMs = parseDuration(o.lifetime);
      if (lifetimeMs === undefined || lifetimeMs < 60_000)
        throw new UsageError(`"${o.lifetime}" is not a duration of at least 1m.`);
      const issued = await withOperatorStore(create, async (store) => {
        const user = await findUser(store, o.user, cliOperator);
        return issueKey(store, {
          userId: user.id,
          name: o.name,
          loginType: 'token',
          scopes: scopes.scopes,
          allowList: formatAllowList(allow.entries),
          lifetimeMs,
          now: new Date(),
        }).catch((err: unknown) => {
          if ((err as { code?: string }).code === '23505')
            throw new IdentityError('conflict', `A key named "${o.name}" exists.`);
          throw err;
        });
      });
      console.error(
        `Created key ${issued.row.id} (${issued.row.name}), expires ${issued.row.expires_at.toISOString()}.`,
      );
      console.error('This is the only time the key is shown:');
      console.log(issued.token);
    }),
  );

  const list = addDatabaseFlags(
    new Command('list')
      .description('List the API keys of a user (never the keys themselves).')
      .requiredOption('--user <user>', 'id or username')
      .option('--json', 'print JSON as the API does'),
  );
  list.action(() =>
    run(list, async () => {
      const o = list.opts<{ user: string; json?: boolean }>();
      const keys = await withOperatorStore(list, async (store) => {
        const user = await findUser(store, o.user, cliOperator);
        return store.listApiKeysOfUser({ userId: user.id, loginType: 'token' });
      });
      if (o.json) {
        console.log(JSON.stringify(keys.map(keyJson), null, 2));
        return;
      }
      for (const k of keys)
        console.log(`${k.id}\t${k.name}\t${k.scopes.join(',')}\texpires ${k.expires_at.toISOString()}`);
      if (keys.length === 0) console.error('No keys.');
    }),
  );

  const remove = addDatabaseFlags(
    new Command('delete')
      .description('Delete (revoke) an API key.')
      .requiredOption('--user <user>', 'id or username')
      .argument('<id>', 'key id'),
  );
  remove.action((id: string) =>
    run(remove, async () => {
      const o = remove.opts<{ user: string }>();
      await withOperatorStore(remove, async (store) => {
        const user = await findUser(store, o.user, cliOperator);
        const key = await findUserKey(store, user.id, id);
        if (!key) throw new IdentityError('not_found', `No key ${id} of ${user.username}.`);
        await store.deleteApiKey({ id: key.id });
      });
      console.log(`Deleted key ${id}.`);
    }),
  );

  command.addCommand(create);
  command.addCommand(list);
  command.addCommand(remove);
  return command;
}
