import { afterAll, beforeAll, expect, it } from 'vitest';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

const db = useTestDatabase();
let kit: StoreKit;
beforeAll(() => {
  kit = storeKit(db.url);
});
afterAll(() => kit.close());

it('lists users a page at a time (keyset on created_at, id), with search and status filters', async () => {
  for (const name of ['pia', 'quinn', 'ravi', 'sam', 'tove']) await kit.user(name);
  await kit.raw.updateUserStatus({
    id: (await kit.raw.getUserByUsername({ username: 'sam' }))?.id as string,
    status: 'suspended',
  });
  const page1 = await kit.raw.listUsers({ includeSystem: false, limit: 2 });
  const page2 = await kit.raw.listUsers({ includeSystem: false, limit: 2, afterId: page1.at(-1)?.id });
  const page3 = await kit.raw.listUsers({ includeSystem: false, limit: 2, afterId: page2.at(-1)?.id });
  expect([...page1, ...page2, ...page3].map((u) => u.username)).toEqual([
    'pia',
    'quinn',
    'ravi',
    'sam',
    'tove',
  ]);
  expect(
    (await kit.raw.listUsers({ includeSystem: false, limit: 10, search: 'AV' })).map((u) => u.username),
  ).toEqual(['ravi']);
  // LIKE wildcards in a search are literal characters, not patterns.
  expect(await kit.raw.listUsers({ includeSystem: false, limit: 10, search: '%' })).toEqual([]);
  expect(
    (await kit.raw.listUsers({ includeSystem: false, limit: 10, status: 'suspended' })).map(
      (u) => u.username,
    ),
  ).toEqual(['sam']);
});
