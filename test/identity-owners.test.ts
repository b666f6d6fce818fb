import { afterAll, beforeAll, expect, it } from 'vitest';
import { builtInRole, type Role, Subject, siteRole } from '../src/authz/index.ts';
import { IdentityError, setUserSiteRoles } from '../src/identity/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

const db = useTestDatabase();
let kit: StoreKit;
beforeAll(() => {
  kit = storeKit(db.url);
});
afterAll(() => kit.close());

// An owner-equivalent actor that is not itself a user (as the CLI operator is), so the
// last owner can be someone other than the one making the change.
const operator = new Subject({
  id: 'system:test-operator',
  kind: 'system',
  roles: [builtInRole(siteRole('owner')) as Role],
});

it('the last-owner guard decides from rows locked in the transaction, not from a row read earlier', async () => {
  const first = await kit.user('first-owner', { siteRoles: ['owner'] });
  const carl = await kit.user('carl');
  const store = kit.authz.as(operator);

  // An admin screen loads carl while he is not an owner...
  const stale = await store.getUserById({ id: carl.id });
  // ...then, elsewhere, carl is promoted and the first owner steps down.
  await setUserSiteRoles(store, carl, ['owner']);
  await setUserSiteRoles(store, first, []);

  // Acting on the stale row must still see that carl is now the last owner.
  await expect(setUserSiteRoles(store, stale as never, [])).rejects.toSatisfy(
    (e) => e instanceof IdentityError && e.kind === 'conflict',
  );
  expect((await kit.raw.getUserById({ id: carl.id }))?.rbac_roles).toEqual(['owner']);
});
