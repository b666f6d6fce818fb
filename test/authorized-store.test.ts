import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../src/apikeys/token.ts';
import { allow, ForbiddenError, permissionToStored, type Subject, systemActors } from '../src/authz/index.ts';
import type { DataStore, OAuth2RefreshToken, Organization, Store, User } from '../src/db/index.ts';
import { ENCRYPTED_TABLES, type EncryptedTable } from '../src/dbcrypt/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// The model is the reference platform's method-coverage suite: every method of the raw
// store has a case here proving one actor is refused and another allowed, and the last
// test fails when a store method is added without one.

const db = useTestDatabase();
let kit: StoreKit;
let org: Organization;
let otherOrg: Organization;
const u: Record<string, User> = {};
const s: Record<string, Subject> = {};
const as = (who: string): Store => kit.authz.as(s[who] as Subject);

beforeAll(async () => {
  kit = storeKit(db.url);
  org = await kit.raw.getDefaultOrganization();
  otherOrg = await kit.raw.insertOrganization({ name: 'other' });
  u.owner = await kit.user('owner', { siteRoles: ['owner'] });
  u.userAdmin = await kit.user('useradmin', { siteRoles: ['user-admin'] });
  u.alice = await kit.user('alice');
  u.bob = await kit.user('bob');
  u.orgAdmin = await kit.user('orgadmin', { orgRoles: ['organization-admin'] });
  u.orgUserAdmin = await kit.user('orguseradmin', { orgRoles: ['organization-user-admin'] });
  u.orgAuditor = await kit.user('orgauditor', { orgRoles: ['organization-auditor'] });
  u.carol = await kit.raw.insertUser({ email: 'carol@example.com', username: 'carol' });
  await kit.raw.insertOrganizationMember({ organizationId: otherOrg.id, userId: u.carol.id, roles: [] });
  u.robot = await kit.user('robot', { isSystem: true });
  for (const [name, user] of Object.entries(u)) s[name] = await kit.subject(user);
});
afterAll(() => kit.close());

const refused = (p: Promise<unknown>, action?: string) =>
  expect(p).rejects.toSatisfy(
    (e) => e instanceof ForbiddenError && (action === undefined || e.action === action),
  );
const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);

const cases: Record<keyof DataStore, () => Promise<void>> = {
  getUserById: async () => {
    await refused(as('alice').getUserById({ id: u.bob?.id as string }), 'read');
    expect((await as('alice').getUserById({ id: u.alice?.id as string }))?.username).toBe('alice');
    expect((await as('userAdmin').getUserById({ id: u.bob?.id as string }))?.username).toBe('bob');
  },
  getUserByUsername: async () => {
    await refused(as('alice').getUserByUsername({ username: 'BOB' }));
    expect(await as('owner').getUserByUsername({ username: 'BOB' })).toMatchObject({ username: 'bob' });
  },
  getUserByEmail: async () => {
    await refused(as('orgAdmin').getUserByEmail({ email: 'bob@example.com' }));
    expect(await as('owner').getUserByEmail({ email: 'Bob@Example.com' })).toMatchObject({ username: 'bob' });
  },
  listUsers: async () => {
    expect(ids(await as('alice').listUsers({ includeSystem: true, limit: 100 }))).toEqual([u.alice?.id]);
    const all = ids(await as('owner').listUsers({ includeSystem: false, limit: 100 }));
    expect(all).toContain(u.bob?.id);
    expect(all).not.toContain(u.robot?.id);
    expect(ids(await as('owner').listUsers({ includeSystem: true, limit: 100 }))).toContain(u.robot?.id);
  },
  insertUser: async () => {
    await refused(as('alice').insertUser({ email: 'x@example.com', username: 'x' }), 'create');
    // A user admin may create users but not owners: granting owner is an escalation.
    await refused(
      as('userAdmin').insertUser({ email: 'y@example.com', username: 'y', siteRoles: ['owner'] }),
      'assign',
    );
    expect(await as('userAdmin').insertUser({ email: 'z@example.com', username: 'z' })).toMatchObject({
      username: 'z',
    });
  },
  updateUserStatus: async () => {
    await refused(as('alice').updateUserStatus({ id: u.bob?.id as string, status: 'suspended' }), 'read');
    await refused(as('alice').updateUserStatus({ id: u.alice?.id as string, status: 'suspended' }), 'update');
    // A user admin manages users, but only an owner suspends an owner.
    await refused(
      as('userAdmin').updateUserStatus({ id: u.owner?.id as string, status: 'suspended' }),
      'update',
    );
    const target = await kit.user('suspendme');
    expect(await as('userAdmin').updateUserStatus({ id: target.id, status: 'suspended' })).toMatchObject({
      status: 'suspended',
    });
  },
  updateUserSiteRoles: async () => {
    await refused(as('alice').updateUserSiteRoles({ id: u.alice?.id as string, roles: ['owner'] }), 'assign');
    await refused(
      as('userAdmin').updateUserSiteRoles({ id: u.bob?.id as string, roles: ['auditor'] }),
      'assign',
    );
    expect(
      await as('owner').updateUserSiteRoles({ id: u.bob?.id as string, roles: ['auditor'] }),
    ).toMatchObject({
      rbac_roles: ['auditor'],
    });
    await refused(as('userAdmin').updateUserSiteRoles({ id: u.bob?.id as string, roles: [] }), 'unassign');
    await as('owner').updateUserSiteRoles({ id: u.bob?.id as string, roles: [] });
  },
  softDeleteUser: async () => {
    await refused(as('userAdmin').softDeleteUser({ id: u.owner?.id as string }), 'delete');
    const target = await kit.user('deleteme');
    await refused(as('alice').softDeleteUser({ id: target.id }), 'read');
    await refused(as('orgAdmin').softDeleteUser({ id: target.id }));
    await as('owner').softDeleteUser({ id: target.id });
    expect(await kit.raw.getUserById({ id: target.id })).toBeUndefined();
  },
  lockActiveOwners: async () => {
    await refused(as('alice').lockActiveOwners(), 'read');
    const owners = await as('owner').inTx((tx) => tx.lockActiveOwners(), { name: 'test' });
    expect(owners).toEqual([u.owner?.id]);
  },
  getOrganizationById: async () => {
    await refused(as('carol').getOrganizationById({ id: org.id }), 'read');
    expect(await as('alice').getOrganizationById({ id: org.id })).toMatchObject({ name: 'default' });
  },
  getOrganizationByName: async () => {
    await refused(as('alice').getOrganizationByName({ name: 'other' }));
    expect(await as('carol').getOrganizationByName({ name: 'other' })).toMatchObject({ id: otherOrg.id });
  },
  getDefaultOrganization: async () => {
    await refused(as('carol').getDefaultOrganization());
    expect((await as('bob').getDefaultOrganization()).id).toBe(org.id);
  },
  listOrganizations: async () => {
    expect(ids(await as('alice').listOrganizations({ limit: 10 }))).toEqual([org.id]);
    expect(ids(await as('carol').listOrganizations({ limit: 10 }))).toEqual([otherOrg.id]);
    expect(ids(await as('owner').listOrganizations({ limit: 10 })).sort()).toEqual(
      [org.id, otherOrg.id].sort(),
    );
  },
  insertOrganization: async () => {
    await refused(as('orgAdmin').insertOrganization({ name: 'nope' }), 'create');
    expect(await as('owner').insertOrganization({ name: 'made-by-owner' })).toMatchObject({
      name: 'made-by-owner',
    });
  },
  getOrganizationMember: async () => {
    const key = { organizationId: org.id, userId: u.bob?.id as string };
    await refused(as('alice').getOrganizationMember(key), 'read');
    expect(await as('bob').getOrganizationMember(key)).toMatchObject({ user_id: u.bob?.id });
    expect(await as('orgAuditor').getOrganizationMember(key)).toMatchObject({ user_id: u.bob?.id });
  },
  listOrganizationMembers: async () => {
    const members = (who: string) =>
      as(who)
        .listOrganizationMembers({ organizationId: org.id, limit: 100 })
        .then((rows) => rows.map((r) => r.user_id));
    expect(await members('alice')).toEqual([u.alice?.id]);
    expect(await members('orgAdmin')).toEqual(expect.arrayContaining([u.alice?.id, u.bob?.id]));
    expect(await members('carol')).toEqual([]);
  },
  listMembershipsOfUser: async () => {
    expect(await as('alice').listMembershipsOfUser({ userId: u.bob?.id as string })).toEqual([]);
    expect(await as('orgAdmin').listMembershipsOfUser({ userId: u.bob?.id as string })).toHaveLength(1);
  },
  insertOrganizationMember: async () => {
    const dave = await kit.raw.insertUser({ email: 'dave@example.com', username: 'dave' });
    await refused(
      as('alice').insertOrganizationMember({ organizationId: org.id, userId: dave.id, roles: [] }),
      'create',
    );
    await refused(
      as('orgAdmin').insertOrganizationMember({ organizationId: otherOrg.id, userId: dave.id, roles: [] }),
    );
    await refused(
      as('orgUserAdmin').insertOrganizationMember({
        organizationId: org.id,
        userId: dave.id,
        roles: ['organization-admin'],
      }),
      'assign',
    );
    expect(
      await as('orgAdmin').insertOrganizationMember({ organizationId: org.id, userId: dave.id, roles: [] }),
    ).toMatchObject({
      user_id: dave.id,
    });
  },
  updateOrganizationMemberRoles: async () => {
    const key = { organizationId: org.id, userId: u.bob?.id as string };
    await refused(
      as('alice').updateOrganizationMemberRoles({ ...key, roles: ['organization-admin'] }),
      'read',
    );
    await refused(
      as('orgUserAdmin').updateOrganizationMemberRoles({ ...key, roles: ['organization-admin'] }),
      'assign',
    );
    expect(
      await as('orgUserAdmin').updateOrganizationMemberRoles({ ...key, roles: ['organization-user-admin'] }),
    ).toMatchObject({
      roles: ['organization-user-admin'],
    });
    await as('orgAdmin').updateOrganizationMemberRoles({ ...key, roles: [] });
  },
  deleteOrganizationMember: async () => {
    const erin = await kit.user('erin');
    const key = { organizationId: org.id, userId: erin.id };
    await refused(as('alice').deleteOrganizationMember(key), 'read');
    await refused(as('orgAuditor').deleteOrganizationMember(key), 'delete');
    await as('orgAdmin').deleteOrganizationMember(key);
    expect(await kit.raw.getOrganizationMember(key)).toBeUndefined();
  },
  insertCustomRole: async () => {
    const role = {
      organizationId: org.id,
      name: 'template-reader',
      displayName: 'Template reader',
      orgPermissions: allow('template', 'read').map(permissionToStored),
      userPermissions: [],
    };
    await refused(as('alice').insertCustomRole(role), 'create');
    await refused(as('orgAdmin').insertCustomRole({ ...role, organizationId: otherOrg.id }), 'create');
    expect(await as('orgAdmin').insertCustomRole(role)).toMatchObject({ name: 'template-reader' });
  },
  getCustomRole: async () => {
    await refused(as('alice').getCustomRole({ organizationId: org.id, name: 'template-reader' }), 'read');
    expect(
      await as('orgAuditor').getCustomRole({ organizationId: org.id, name: 'template-reader' }),
    ).toMatchObject({
      name: 'template-reader',
    });
  },
  listCustomRoles: async () => {
    expect(await as('alice').listCustomRoles({ organizationIds: [org.id] })).toEqual([]);
    expect(
      (await as('orgAdmin').listCustomRoles({ organizationIds: [org.id, otherOrg.id] })).map((r) => r.name),
    ).toEqual(['template-reader']);
  },
  softDeleteCustomRole: async () => {
    const key = { organizationId: org.id, name: 'template-reader' };
    await refused(as('alice').softDeleteCustomRole(key), 'read');
    await refused(as('orgAuditor').softDeleteCustomRole(key), 'delete');
    await as('orgAdmin').softDeleteCustomRole(key);
    expect(await kit.raw.getCustomRole(key)).toBeUndefined();
  },
  insertApiKey: async () => {
    await refused(as('alice').insertApiKey(newKey(u.bob as User)), 'create');
    await refused(as('orgAdmin').insertApiKey(newKey(u.bob as User)), 'create');
    expect(await as('alice').insertApiKey(newKey(u.alice as User, 'alice-key'))).toMatchObject({
      name: 'alice-key',
    });
    await as('bob').insertApiKey(newKey(u.bob as User, 'bob-key'));
  },
  getApiKeyById: async () => {
    const bobs = (await kit.raw.getApiKeyByName({ userId: u.bob?.id as string, name: 'bob-key' }))
      ?.id as string;
    await refused(as('alice').getApiKeyById({ id: bobs }), 'read');
    expect(await as('bob').getApiKeyById({ id: bobs })).toMatchObject({ name: 'bob-key' });
    expect(await as('owner').getApiKeyById({ id: bobs })).toMatchObject({ name: 'bob-key' });
  },
  getApiKeyByName: async () => {
    await refused(as('alice').getApiKeyByName({ userId: u.bob?.id as string, name: 'bob-key' }), 'read');
    expect(await as('bob').getApiKeyByName({ userId: u.bob?.id as string, name: 'bob-key' })).toBeDefined();
  },
  listApiKeysOfUser: async () => {
    expect(await as('alice').listApiKeysOfUser({ userId: u.bob?.id as string })).toEqual([]);
    expect((await as('bob').listApiKeysOfUser({ userId: u.bob?.id as string })).map((k) => k.name)).toEqual([
      'bob-key',
    ]);
    expect(await as('orgAdmin').listApiKeysOfUser({ userId: u.bob?.id as string })).toEqual([]);
  },
  updateApiKeyLastUsed: async () => {
    const id = (await kit.raw.getApiKeyByName({ userId: u.bob?.id as string, name: 'bob-key' }))
      ?.id as string;
    // Even the key's owner may not forge its bookkeeping; authentication (systemAuthn) may.
    await refused(as('bob').updateApiKeyLastUsed({ id, now: new Date() }), 'update');
    const later = new Date(Date.now() + 120_000);
    expect(await kit.authz.as(systemActors.systemAuthn).updateApiKeyLastUsed({ id, now: later })).toBe(true);
    // At most once a minute: a second write within the minute is skipped by the database.
    expect(await kit.authz.as(systemActors.systemAuthn).updateApiKeyLastUsed({ id, now: later })).toBe(false);
  },
  updateApiKeyExpiry: async () => {
    const id = (await kit.raw.getApiKeyByName({ userId: u.bob?.id as string, name: 'bob-key' }))
      ?.id as string;
    await refused(as('bob').updateApiKeyExpiry({ id, expiresAt: new Date(Date.now() + 1e9) }), 'update');
    await kit.authz
      .as(systemActors.systemAuthn)
      .updateApiKeyExpiry({ id, expiresAt: new Date(Date.now() + 3600_000) });
  },
  deleteApiKey: async () => {
    const id = (await kit.raw.getApiKeyByName({ userId: u.bob?.id as string, name: 'bob-key' }))
      ?.id as string;
    await refused(as('alice').deleteApiKey({ id }), 'read');
    await as('bob').deleteApiKey({ id });
    expect(await kit.raw.getApiKeyById({ id })).toBeUndefined();
  },
  deleteExpiredApiKeys: async () => {
    await kit.raw.insertApiKey({ ...newKey(u.alice as User, 'old'), expiresAt: new Date(Date.now() - 1000) });
    await refused(as('alice').deleteExpiredApiKeys({ before: new Date() }), 'delete');
    await refused(
      kit.authz.as(systemActors.systemAuthn).deleteExpiredApiKeys({ before: new Date() }),
      'delete',
    );
    expect(await kit.authz.as(systemActors.systemPurge).deleteExpiredApiKeys({ before: new Date() })).toBe(1);
  },
  upsertExternalAuthLink: async () => {
    await refused(as('alice').upsertExternalAuthLink(link(u.bob as User)), 'create');
    await refused(
      kit.authz.as(systemActors.systemExternalAuthRefresher).upsertExternalAuthLink(link(u.bob as User)),
    );
    expect(await as('bob').upsertExternalAuthLink(link(u.bob as User))).toMatchObject({
      provider_id: 'github',
    });
  },
  getExternalAuthLink: async () => {
    const key = { userId: u.bob?.id as string, providerId: 'github' };
    await refused(as('alice').getExternalAuthLink(key), 'read');
    await refused(as('orgAdmin').getExternalAuthLink(key), 'read');
    expect(await as('bob').getExternalAuthLink(key)).toMatchObject({ oauth_access_token: 'at-1' });
    expect(
      await kit.authz.as(systemActors.systemExternalAuthRefresher).getExternalAuthLink(key),
    ).toBeDefined();
  },
  listExternalAuthLinksOfUser: async () => {
    expect(await as('alice').listExternalAuthLinksOfUser({ userId: u.bob?.id as string })).toEqual([]);
    expect(await as('bob').listExternalAuthLinksOfUser({ userId: u.bob?.id as string })).toHaveLength(1);
  },
  updateExternalAuthLinkRefreshToken: async () => {
    const next = { ...link(u.bob as User).tokens, accessToken: 'at-2', refreshToken: 'rt-2' };
    const arg = { userId: u.bob?.id as string, providerId: 'github', oldRefreshToken: 'rt-1', tokens: next };
    await refused(as('alice').updateExternalAuthLinkRefreshToken(arg), 'update');
    const refresher = kit.authz.as(systemActors.systemExternalAuthRefresher);
    expect(await refresher.updateExternalAuthLinkRefreshToken(arg)).toBe(true);
    // The optimistic lock: spending rt-1 again is a no-op, the winner's tokens stay.
    expect(
      await refresher.updateExternalAuthLinkRefreshToken({ ...arg, tokens: { ...next, accessToken: 'x' } }),
    ).toBe(false);
    expect((await kit.raw.getExternalAuthLink(arg))?.oauth_access_token).toBe('at-2');
  },
  updateExternalAuthLinkRefreshFailure: async () => {
    const arg = { userId: u.bob?.id as string, providerId: 'github', reason: 'bad_refresh_token' };
    await refused(
      as('alice').updateExternalAuthLinkRefreshFailure({ ...arg, oldRefreshToken: 'rt-2' }),
      'update',
    );
    const refresher = kit.authz.as(systemActors.systemExternalAuthRefresher);
    expect(await refresher.updateExternalAuthLinkRefreshFailure({ ...arg, oldRefreshToken: 'rt-1' })).toBe(
      false,
    );
    expect(await refresher.updateExternalAuthLinkRefreshFailure({ ...arg, oldRefreshToken: 'rt-2' })).toBe(
      true,
    );
    expect(await kit.raw.getExternalAuthLink(arg)).toMatchObject({
      oauth_refresh_token: '',
      oauth_refresh_failure_reason: 'bad_refresh_token',
      oauth_access_token: 'at-2',
    });
  },
  insertExternalAuthLinkState: async () => {
    await refused(as('alice').insertExternalAuthLinkState(linkState(u.bob as User, 1)), 'create');
    await as('bob').insertExternalAuthLinkState(linkState(u.bob as User, 1));
    await as('alice').insertExternalAuthLinkState(linkState(u.alice as User, 2));
  },
  getExternalAuthLinkState: async () => {
    await kit.raw.insertExternalAuthLinkState(linkState(u.bob as User, 3));
    const arg = { stateHash: Buffer.alloc(32, 3), now: new Date() };
    // Someone else's device code is refused (the caller may not link for Bob)...
    await refused(as('alice').getExternalAuthLinkState(arg), 'create');
    await refused(as('orgAdmin').getExternalAuthLinkState(arg), 'create');
    // ...and reading is not taking: Bob can read it on every poll, until it expires.
    expect(await as('bob').getExternalAuthLinkState(arg)).toMatchObject({ user_id: u.bob?.id });
    expect(await as('bob').getExternalAuthLinkState(arg)).toMatchObject({ provider_id: 'github' });
    expect(
      await as('bob').getExternalAuthLinkState({ ...arg, now: new Date(Date.now() + 3600_000) }),
    ).toBeUndefined();
    expect(await kit.raw.consumeExternalAuthLinkState(arg)).toBeDefined();
  },
  consumeExternalAuthLinkState: async () => {
    const now = new Date();
    // Bob's state presented by Alice is refused, and burnt.
    await refused(
      as('alice').consumeExternalAuthLinkState({ stateHash: Buffer.alloc(32, 1), now }),
      'create',
    );
    expect(
      await as('bob').consumeExternalAuthLinkState({ stateHash: Buffer.alloc(32, 1), now }),
    ).toBeUndefined();
    expect(
      await as('alice').consumeExternalAuthLinkState({ stateHash: Buffer.alloc(32, 2), now }),
    ).toMatchObject({
      provider_id: 'github',
    });
    // Single use.
    expect(
      await as('alice').consumeExternalAuthLinkState({ stateHash: Buffer.alloc(32, 2), now }),
    ).toBeUndefined();
  },
  deleteExternalAuthLink: async () => {
    const key = { userId: u.bob?.id as string, providerId: 'github' };
    await refused(as('alice').deleteExternalAuthLink(key), 'read');
    await refused(
      kit.authz.as(systemActors.systemExternalAuthRefresher).deleteExternalAuthLink(key),
      'delete',
    );
    expect(await as('bob').deleteExternalAuthLink(key)).toMatchObject({ oauth_access_token: 'at-2' });
    expect(await kit.raw.getExternalAuthLink(key)).toBeUndefined();
  },
  upsertOidcLink: async () => {
    const arg = oidcLink(u.bob as User);
    await refused(as('bob').upsertOidcLink(arg), 'create');
    await refused(kit.authz.as(systemActors.systemAuthn).upsertOidcLink(arg), 'create');
    expect(await kit.authz.as(systemActors.systemSessions).upsertOidcLink(arg)).toMatchObject({
      subject: 'sub-bob',
    });
  },
  getOidcLinkByUser: async () => {
    await refused(as('alice').getOidcLinkByUser({ userId: u.bob?.id as string }), 'read');
    // Not even its owner reads it through the API: it holds the provider's tokens.
    await refused(as('bob').getOidcLinkByUser({ userId: u.bob?.id as string }), 'read');
    expect(await as('owner').getOidcLinkByUser({ userId: u.bob?.id as string })).toBeDefined();
    expect(
      await kit.authz.as(systemActors.systemAuthn).getOidcLinkByUser({ userId: u.bob?.id as string }),
    ).toBeDefined();
  },
  getOidcLinkBySubject: async () => {
    const arg = { issuer: 'https://idp.example', subject: 'sub-bob' };
    await refused(as('alice').getOidcLinkBySubject(arg), 'read');
    expect(await kit.authz.as(systemActors.systemSessions).getOidcLinkBySubject(arg)).toMatchObject({
      user_id: u.bob?.id,
    });
  },
  updateOidcLinkRefreshToken: async () => {
    const next = { ...oidcLink(u.bob as User).tokens, refreshToken: 'ort-2' };
    const arg = { userId: u.bob?.id as string, oldRefreshToken: 'ort-1', tokens: next };
    await refused(as('bob').updateOidcLinkRefreshToken(arg), 'update');
    await refused(kit.authz.as(systemActors.systemAuthn).updateOidcLinkRefreshToken(arg), 'update');
    const refresher = kit.authz.as(systemActors.systemExternalAuthRefresher);
    expect(await refresher.updateOidcLinkRefreshToken(arg)).toBe(true);
    expect(await refresher.updateOidcLinkRefreshToken(arg)).toBe(false);
  },
  updateOidcLinkRefreshFailure: async () => {
    const arg = { userId: u.bob?.id as string, oldRefreshToken: 'ort-2', reason: 'invalid_grant' };
    await refused(as('alice').updateOidcLinkRefreshFailure(arg), 'update');
    expect(
      await kit.authz.as(systemActors.systemExternalAuthRefresher).updateOidcLinkRefreshFailure(arg),
    ).toBe(true);
    expect(await kit.raw.getOidcLinkByUser({ userId: u.bob?.id as string })).toMatchObject({
      oauth_refresh_token: '',
      oauth_refresh_failure_reason: 'invalid_grant',
    });
  },
  listDbcryptKeys: async () => {
    await refused(as('alice').listDbcryptKeys(), 'read');
    await refused(as('userAdmin').listDbcryptKeys(), 'read');
    expect(await dbcrypt().listDbcryptKeys()).toEqual([]);
  },
  insertDbcryptKey: async () => {
    await refused(as('alice').insertDbcryptKey({ digest: DIGEST }), 'create');
    await refused(
      kit.authz.as(systemActors.systemExternalAuthRefresher).insertDbcryptKey({ digest: DIGEST }),
    );
    await dbcrypt().insertDbcryptKey({ digest: DIGEST });
    await dbcrypt().insertDbcryptKey({ digest: DIGEST });
    expect(await kit.raw.listDbcryptKeys()).toMatchObject([
      { digest: DIGEST, status: 'active', revoked_at: null },
    ]);
  },
  revokeDbcryptKeys: async () => {
    await refused(as('alice').revokeDbcryptKeys({ digests: [DIGEST] }), 'update');
    expect(await dbcrypt().revokeDbcryptKeys({ digests: [DIGEST] })).toEqual([DIGEST]);
    expect(await dbcrypt().revokeDbcryptKeys({ digests: [DIGEST] })).toEqual([]);
    expect((await kit.raw.listDbcryptKeys())[0]?.revoked_at).toBeInstanceOf(Date);
  },
  countSecretRows: async () => {
    await kit.raw.upsertExternalAuthLink({ ...link(u.alice as User), tokens: secretTokens('1') });
    const arg = { table: linksTable(), match: { like: 'sat-%' } };
    // Alice may read her own link, but bulk access takes a site-wide grant.
    await refused(as('alice').countSecretRows(arg), 'read');
    await refused(kit.authz.as(systemActors.systemAuthn).countSecretRows(arg), 'read');
    expect(await dbcrypt().countSecretRows(arg)).toBe(1);
  },
  lockSecretRows: async () => {
    const arg = { table: linksTable(), match: { like: 'sat-%' }, after: undefined, limit: 10 };
    await refused(as('alice').lockSecretRows(arg));
    const rows = await dbcrypt().inTx((tx) => tx.lockSecretRows(arg), { name: 'test' });
    expect(rows).toEqual([
      { key: [u.alice?.id, 'github'], values: { oauth_access_token: 'sat-1', oauth_refresh_token: 'srt-1' } },
    ]);
  },
  updateSecretRows: async () => {
    const rows = [
      {
        key: [u.alice?.id as string, 'github'],
        values: { oauth_access_token: 'sat-2', oauth_refresh_token: '' },
      },
    ];
    await refused(as('alice').updateSecretRows({ table: linksTable(), rows }), 'update');
    expect(await dbcrypt().updateSecretRows({ table: linksTable(), rows })).toBe(1);
    expect(
      await kit.raw.getExternalAuthLink({ userId: u.alice?.id as string, providerId: 'github' }),
    ).toMatchObject({
      oauth_access_token: 'sat-2',
      oauth_refresh_token: '',
    });
  },
  listSecretKeyDigests: async () => {
    await kit.raw.updateSecretRows({
      table: linksTable(),
      rows: [{ key: [u.alice?.id as string, 'github'], values: { oauth_access_token: `x:${DIGEST}:y` } }],
    });
    const arg = { table: linksTable(), column: 'oauth_access_token', prefix: 'x:', length: 16 };
    await refused(as('alice').listSecretKeyDigests(arg), 'read');
    expect(await dbcrypt().listSecretKeyDigests(arg)).toEqual([DIGEST]);
  },
  clearSecretRows: async () => {
    const arg = { table: linksTable(), keys: [[u.alice?.id as string, 'github']] };
    await refused(as('alice').clearSecretRows(arg), 'update');
    expect(await dbcrypt().clearSecretRows(arg)).toBe(1);
    expect(
      await kit.raw.getExternalAuthLink({ userId: u.alice?.id as string, providerId: 'github' }),
    ).toMatchObject({
      oauth_access_token: '',
      oauth_refresh_token: '',
      oauth_expiry: new Date(0),
      oauth_refresh_failure_reason: 'encryption_key_deleted',
    });
  },
  insertOAuth2App: async () => {
    await refused(as('alice').insertOAuth2App(newApp('alice-app')), 'create');
    await refused(kit.authz.as(systemActors.systemAuthn).insertOAuth2App(newApp('authn-app')), 'create');
    expect(await as('owner').insertOAuth2App(newApp('owner-app'))).toMatchObject({ client_id: 'owner-app' });
  },
  getOAuth2AppById: async () => {
    const app = (await kit.raw.getOAuth2AppByClientId({ clientId: 'owner-app' })) as { id: string };
    await refused(as('alice').getOAuth2AppById({ id: app.id }), 'read');
    expect(await kit.authz.as(systemActors.systemOAuth2).getOAuth2AppById({ id: app.id })).toBeDefined();
  },
  getOAuth2AppByClientId: async () => {
    await refused(as('alice').getOAuth2AppByClientId({ clientId: 'owner-app' }), 'read');
    expect(
      await kit.authz.as(systemActors.systemOAuth2).getOAuth2AppByClientId({ clientId: 'owner-app' }),
    ).toMatchObject({ origin: 'admin' });
  },
  insertOAuth2AppSecret: async () => {
    const app = (await kit.raw.getOAuth2AppByClientId({ clientId: 'owner-app' })) as { id: string };
    const secret = { appId: app.id, displayPrefix: 'abc', hashedSecret: Buffer.alloc(32, 7) };
    await refused(as('alice').insertOAuth2AppSecret(secret), 'create');
    expect(await as('owner').insertOAuth2AppSecret(secret)).toMatchObject({ display_prefix: 'abc' });
  },
  listOAuth2AppSecrets: async () => {
    const app = (await kit.raw.getOAuth2AppByClientId({ clientId: 'owner-app' })) as { id: string };
    await refused(as('alice').listOAuth2AppSecrets({ appId: app.id }), 'read');
    expect(
      await kit.authz.as(systemActors.systemOAuth2).listOAuth2AppSecrets({ appId: app.id }),
    ).toHaveLength(1);
  },
  listOAuth2Apps: async () => {
    expect(await as('alice').listOAuth2Apps({ limit: 100 })).toEqual([]);
    const all = await as('owner').listOAuth2Apps({ limit: 100 });
    expect(all.map((a) => a.client_id)).toContain('owner-app');
    expect(await as('owner').listOAuth2Apps({ origin: 'dynamic', limit: 100 })).toEqual([]);
  },
  upsertOAuth2AppFromDocument: async () => {
    const doc = { ...newApp('https://client.example/doc.json'), clientId: 'https://client.example/doc.json' };
    await refused(kit.authz.as(systemActors.systemOAuth2).upsertOAuth2AppFromDocument(doc), 'create');
    const registrar = kit.authz.as(systemActors.systemClientRegistration);
    expect(await registrar.upsertOAuth2AppFromDocument(doc)).toMatchObject({ origin: 'metadata_document' });
    expect(await registrar.upsertOAuth2AppFromDocument({ ...doc, name: 'renamed' })).toMatchObject({
      name: 'renamed',
    });
  },
  updateOAuth2App: async () => {
    const app = (await kit.raw.getOAuth2AppByClientId({ clientId: 'owner-app' })) as { id: string };
    const fields = { ...newApp('owner-app'), id: app.id, name: 'Owner app' };
    await refused(as('alice').updateOAuth2App(fields), 'read');
    await refused(kit.authz.as(systemActors.systemOAuth2).updateOAuth2App(fields), 'update');
    expect(await as('owner').updateOAuth2App(fields)).toMatchObject({ name: 'Owner app' });
  },
  updateOAuth2AppRegistrationToken: async () => {
    const app = await as('owner').insertOAuth2App({ ...newApp('dyn-app'), origin: 'dynamic' });
    const arg = { id: app.id, oldHash: Buffer.alloc(32, 1), newHash: Buffer.alloc(32, 2) };
    await refused(as('alice').updateOAuth2AppRegistrationToken(arg), 'update');
    await refused(kit.authz.as(systemActors.systemOAuth2).updateOAuth2AppRegistrationToken(arg), 'update');
    // No token yet: the compare-and-swap on the old one finds nothing to replace.
    expect(
      await kit.authz.as(systemActors.systemClientRegistration).updateOAuth2AppRegistrationToken(arg),
    ).toBe(false);
  },
  deleteOAuth2AppSecret: async () => {
    const app = (await kit.raw.getOAuth2AppByClientId({ clientId: 'owner-app' })) as { id: string };
    const [secret] = await kit.raw.listOAuth2AppSecrets({ appId: app.id });
    const arg = { appId: app.id, id: secret?.id as string };
    await refused(as('alice').deleteOAuth2AppSecret(arg), 'delete');
    await refused(kit.authz.as(systemActors.systemOAuth2).deleteOAuth2AppSecret(arg), 'delete');
    await as('owner').deleteOAuth2AppSecret(arg);
    expect(await kit.raw.listOAuth2AppSecrets({ appId: app.id })).toEqual([]);
  },
  deleteOAuth2AppSecrets: async () => {
    const app = (await kit.raw.getOAuth2AppByClientId({ clientId: 'dyn-app' })) as { id: string };
    await kit.raw.insertOAuth2AppSecret({
      appId: app.id,
      displayPrefix: 'x',
      hashedSecret: Buffer.alloc(32, 9),
    });
    await refused(as('alice').deleteOAuth2AppSecrets({ appId: app.id }), 'delete');
    expect(
      await kit.authz.as(systemActors.systemClientRegistration).deleteOAuth2AppSecrets({ appId: app.id }),
    ).toBe(1);
  },
  deleteOAuth2App: async () => {
    const app = (await kit.raw.getOAuth2AppByClientId({ clientId: 'dyn-app' })) as { id: string };
    await refused(as('alice').deleteOAuth2App({ id: app.id }), 'read');
    await refused(kit.authz.as(systemActors.systemOAuth2).deleteOAuth2App({ id: app.id }), 'delete');
    expect(await kit.authz.as(systemActors.systemClientRegistration).deleteOAuth2App({ id: app.id })).toEqual(
      {
        apiKeyIds: [],
      },
    );
    expect(await kit.raw.getOAuth2AppById({ id: app.id })).toBeUndefined();
  },
  // OAuth2 grants: the authorization server (systemOAuth2) makes and spends them; a user
  // reads and revokes their own; nobody else sees them.
  insertOAuth2Code: async () => {
    const app = await kit.raw.insertOAuth2App(newApp('grants-app'));
    grants.appId = app.id;
    await refused(as('alice').insertOAuth2Code(codeArgs(1)), 'create');
    await refused(kit.authz.as(systemActors.systemAuthn).insertOAuth2Code(codeArgs(1)), 'create');
    await oauth().insertOAuth2Code(codeArgs(1));
  },
  getOAuth2CodeByHash: async () => {
    const codeHash = Buffer.alloc(32, 1);
    await refused(as('bob').getOAuth2CodeByHash({ codeHash }), 'read');
    expect(await as('alice').getOAuth2CodeByHash({ codeHash })).toMatchObject({ expired: false });
    const code = await oauth().getOAuth2CodeByHash({ codeHash });
    grants.codeId = code?.id as string;
  },
  redeemOAuth2Code: async () => {
    const arg = () => ({
      codeId: grants.codeId as string,
      userId: u.alice?.id as string,
      appId: grants.appId as string,
      accessKey: accessKey(),
      refresh: refreshArgs(11),
    });
    await refused(as('alice').redeemOAuth2Code(arg()), 'create');
    await refused(kit.authz.as(systemActors.systemPurge).redeemOAuth2Code(arg()), 'create');
    expect(await oauth().redeemOAuth2Code(arg())).toBe(true);
    // Spent: a second redemption matches nothing.
    expect(await oauth().redeemOAuth2Code({ ...arg(), refresh: refreshArgs(12) })).toBe(false);
  },
  revokeOAuth2CodeGrant: async () => {
    const codeId = grants.codeId as string;
    await refused(as('alice').revokeOAuth2CodeGrant({ codeId }), 'delete');
    expect(await oauth().revokeOAuth2CodeGrant({ codeId })).toHaveLength(1);
  },
  getOAuth2RefreshTokenByHash: async () => {
    await oauth().insertOAuth2Code(codeArgs(2));
    const code = await kit.raw.getOAuth2CodeByHash({ codeHash: Buffer.alloc(32, 2) });
    await kit.raw.redeemOAuth2Code({
      codeId: code?.id as string,
      userId: u.alice?.id as string,
      appId: grants.appId as string,
      accessKey: accessKey(),
      refresh: refreshArgs(21),
    });
    const arg = { tokenHash: Buffer.alloc(32, 21), graceSeconds: 30 };
    await refused(as('bob').getOAuth2RefreshTokenByHash(arg), 'read');
    expect(await as('alice').getOAuth2RefreshTokenByHash(arg)).toMatchObject({ rotated_at: null });
    grants.refresh = await oauth().getOAuth2RefreshTokenByHash(arg);
  },
  rotateOAuth2RefreshToken: async () => {
    const arg = () => ({
      old: grants.refresh as OAuth2RefreshToken,
      seed: Buffer.alloc(32, 7),
      successor: refreshArgs(22),
      accessKey: accessKey(),
    });
    await refused(as('alice').rotateOAuth2RefreshToken(arg()), 'create');
    await refused(kit.authz.as(systemActors.systemPurge).rotateOAuth2RefreshToken(arg()), 'create');
    expect(await oauth().rotateOAuth2RefreshToken(arg())).toBe(true);
    expect(await oauth().rotateOAuth2RefreshToken(arg())).toBe(false);
  },
  getOAuth2RefreshTokenSuccessor: async () => {
    const id = (grants.refresh as OAuth2RefreshToken).id;
    await refused(as('bob').getOAuth2RefreshTokenSuccessor({ id }), 'read');
    expect(await as('alice').getOAuth2RefreshTokenSuccessor({ id })).toMatchObject({
      key: { scopes: ['user:read'] },
    });
    expect(await oauth().getOAuth2RefreshTokenSuccessor({ id })).toBeDefined();
  },
  revokeOAuth2RefreshTokenFamily: async () => {
    const familyId = (grants.refresh as OAuth2RefreshToken).family_id;
    await refused(as('alice').revokeOAuth2RefreshTokenFamily({ familyId }), 'delete');
    expect(await oauth().revokeOAuth2RefreshTokenFamily({ familyId })).toHaveLength(2);
    expect(
      await oauth().getOAuth2RefreshTokenSuccessor({ id: (grants.refresh as OAuth2RefreshToken).id }),
    ).toBeUndefined();
  },
  insertOAuth2AccessToken: async () => {
    const arg = () => ({
      userId: u.alice?.id as string,
      appId: grants.appId as string,
      accessKey: accessKey(),
    });
    await refused(as('alice').insertOAuth2AccessToken(arg()), 'create');
    await refused(kit.authz.as(systemActors.systemSessions).insertOAuth2AccessToken(arg()), 'create');
    const key = await oauth().insertOAuth2AccessToken(arg());
    expect(await kit.raw.getApiKeyById({ id: key.id })).toMatchObject({
      login_type: 'oauth2_app',
      oauth2_app_id: grants.appId,
      scopes: ['user:read'],
    });
    grants.keyId = key.id;
  },
  upsertOAuth2Consent: async () => {
    const arg = { userId: u.alice?.id as string, appId: grants.appId as string, scope: 'user:read' };
    await refused(as('alice').upsertOAuth2Consent(arg), 'create');
    await oauth().upsertOAuth2Consent(arg);
    await oauth().upsertOAuth2Consent({ ...arg, scope: 'user:read api_key:read' });
  },
  getOAuth2Consent: async () => {
    const arg = { userId: u.alice?.id as string, appId: grants.appId as string };
    await refused(as('bob').getOAuth2Consent(arg), 'read');
    expect(await as('alice').getOAuth2Consent(arg)).toMatchObject({ scope: 'user:read api_key:read' });
    expect(await oauth().getOAuth2Consent({ ...arg, userId: u.bob?.id as string })).toBeUndefined();
  },
  listOAuth2AppsOfUser: async () => {
    const arg = { userId: u.alice?.id as string };
    await refused(as('bob').listOAuth2AppsOfUser(arg), 'read');
    expect(await as('alice').listOAuth2AppsOfUser(arg)).toMatchObject([{ client_id: 'grants-app' }]);
    expect(await as('owner').listOAuth2AppsOfUser(arg)).toHaveLength(1);
  },
  deleteOAuth2GrantsOfUserApp: async () => {
    const arg = { userId: u.alice?.id as string, appId: grants.appId as string };
    await refused(as('bob').deleteOAuth2GrantsOfUserApp(arg), 'delete');
    expect(await as('alice').deleteOAuth2GrantsOfUserApp(arg)).toMatchObject({ found: true });
    expect(await kit.raw.getApiKeyById({ id: grants.keyId as string })).toBeUndefined();
  },
  deleteExpiredOAuth2Grants: async () => {
    await refused(as('alice').deleteExpiredOAuth2Grants({ before: new Date() }), 'delete');
    expect(
      await kit.authz.as(systemActors.systemPurge).deleteExpiredOAuth2Grants({ before: new Date() }),
    ).toBe(0);
  },
  redeemOAuth2CodeByHash: async () => {
    await oauth().insertOAuth2Code(codeArgs(4));
    const arg = (over: Record<string, unknown> = {}) => ({
      codeHash: Buffer.alloc(32, 4),
      appId: grants.appId as string,
      codeChallenge: 'c'.repeat(43),
      redirectUri: 'https://app.example/callback',
      resource: undefined,
      accessKey: { ...accessKey(), scopes: undefined, audience: undefined },
      refresh: { id: randomUUID(), tokenHash: Buffer.alloc(32, 41), lifetimeSeconds: 3600 },
      ...over,
    });
    await refused(as('alice').redeemOAuth2CodeByHash(arg()), 'delete');
    await refused(kit.authz.as(systemActors.systemPurge).redeemOAuth2CodeByHash(arg()), 'create');
    // Issued for another verifier, redirect URI, resource or client: nothing is redeemed.
    for (const wrong of [
      { codeChallenge: 'd'.repeat(43) },
      { redirectUri: 'https://app.example/other' },
      { resource: 'https://elsewhere.example/' },
      { appId: randomUUID() },
    ]) {
      expect(await oauth().redeemOAuth2CodeByHash(arg(wrong))).toBeUndefined();
    }
    expect(await oauth().redeemOAuth2CodeByHash(arg({ resource: 'http://127.0.0.1:3000/' }))).toEqual({
      userId: u.alice?.id,
      scope: 'user:read',
      resource: 'http://127.0.0.1:3000/',
      keyScopes: ['user:read'],
    });
    expect(await oauth().redeemOAuth2CodeByHash(arg())).toBeUndefined();
  },
  rotateOAuth2RefreshTokenByHash: async () => {
    const arg = (over: Record<string, unknown> = {}) => ({
      tokenHash: Buffer.alloc(32, 41),
      appId: grants.appId as string,
      seed: Buffer.alloc(32, 9),
      successor: { id: randomUUID(), tokenHash: Buffer.alloc(32, 42), lifetimeSeconds: 3600 },
      accessKey: { ...accessKey(), scopes: undefined, audience: undefined },
      ...over,
    });
    await refused(as('alice').rotateOAuth2RefreshTokenByHash(arg()), 'delete');
    await refused(kit.authz.as(systemActors.systemPurge).rotateOAuth2RefreshTokenByHash(arg()), 'create');
    expect(await oauth().rotateOAuth2RefreshTokenByHash(arg({ appId: randomUUID() }))).toBeUndefined();
    expect(await oauth().rotateOAuth2RefreshTokenByHash(arg())).toMatchObject({ keyScopes: ['user:read'] });
    // Rotated: the old token rotates no more; its successor does.
    expect(await oauth().rotateOAuth2RefreshTokenByHash(arg())).toBeUndefined();
    const successor = await kit.raw.getOAuth2RefreshTokenByHash({
      tokenHash: Buffer.alloc(32, 42),
      graceSeconds: 0,
    });
    expect(successor).toMatchObject({
      rotated_at: null,
      scope: 'user:read',
      resource: 'http://127.0.0.1:3000/',
    });
  },
  listOAuth2SigningKeys: async () => {
    await refused(as('alice').listOAuth2SigningKeys(), 'read');
    await refused(as('userAdmin').listOAuth2SigningKeys(), 'read');
    expect(await oauth().listOAuth2SigningKeys()).toEqual([]);
  },
  insertOAuth2SigningKey: async () => {
    const key = (generation: number) => ({
      kid: `kid-${generation}`,
      generation,
      alg: 'ES256' as const,
      publicJwk: { kty: 'EC' },
      privateJwk: '{}',
      activatesAt: new Date(Date.UTC(2026, 0, generation)),
    });
    await refused(as('alice').insertOAuth2SigningKey(key(1)), 'create');
    await refused(kit.authz.as(systemActors.systemPurge).insertOAuth2SigningKey(key(1)), 'create');
    expect(await oauth().insertOAuth2SigningKey(key(1))).toBe(true);
    // Another replica's key of the same generation: one generation, one key.
    expect(await oauth().insertOAuth2SigningKey({ ...key(1), kid: 'other' })).toBe(false);
    expect(await oauth().insertOAuth2SigningKey(key(2))).toBe(true);
    expect((await kit.raw.listOAuth2SigningKeys()).map((k) => k.kid)).toEqual(['kid-1', 'kid-2']);
  },
  deleteRetiredOAuth2SigningKeys: async () => {
    const retiredBefore = new Date(Date.UTC(2026, 0, 2, 12));
    await refused(as('alice').deleteRetiredOAuth2SigningKeys({ retiredBefore }), 'delete');
    await refused(oauth().deleteRetiredOAuth2SigningKeys({ retiredBefore }), 'delete');
    const purge = kit.authz.as(systemActors.systemPurge);
    // kid-1 stopped signing when kid-2 activated (Jan 2), before the cut-off; kid-2 is the newest.
    expect(await purge.deleteRetiredOAuth2SigningKeys({ retiredBefore })).toBe(1);
    expect((await kit.raw.listOAuth2SigningKeys()).map((k) => k.kid)).toEqual(['kid-2']);
    expect(await purge.deleteRetiredOAuth2SigningKeys({ retiredBefore: new Date() })).toBe(0);
  },
};

const oauth = () => kit.authz.as(systemActors.systemOAuth2);
const grants: { appId?: string; codeId?: string; refresh?: OAuth2RefreshToken | undefined; keyId?: string } =
  {};

function codeArgs(n: number) {
  return {
    codeHash: Buffer.alloc(32, n),
    appId: grants.appId as string,
    userId: u.alice?.id as string,
    redirectUri: 'https://app.example/callback',
    codeChallenge: 'c'.repeat(43),
    resource: 'http://127.0.0.1:3000/',
    scope: 'user:read',
    lifetimeSeconds: 300,
  };
}

function accessKey() {
  const key = generateKey();
  return {
    id: key.id,
    hashedSecret: key.hashedSecret,
    name: 'oauth2: test',
    scopes: ['user:read'],
    audience: 'http://127.0.0.1:3000/',
    lifetimeSeconds: 3600,
  };
}

function refreshArgs(n: number) {
  return {
    id: randomUUID(),
    tokenHash: Buffer.alloc(32, n),
    resource: 'http://127.0.0.1:3000/',
    scope: 'user:read',
    lifetimeSeconds: 3600,
  };
}

const DIGEST = '0123456789abcdef';
const dbcrypt = () => kit.authz.as(systemActors.systemDbcrypt);
const linksTable = () => ENCRYPTED_TABLES.find((t) => t.table === 'external_auth_links') as EncryptedTable;
const secretTokens = (n: string) => ({
  accessToken: `sat-${n}`,
  refreshToken: `srt-${n}`,
  expiry: new Date(Date.now() + 3600_000),
  issuedAt: new Date(),
  extra: {},
});

function newApp(clientId: string) {
  return {
    clientId,
    origin: 'admin' as const,
    name: clientId,
    applicationType: 'web' as const,
    tokenEndpointAuthMethod: 'client_secret_basic' as const,
    redirectUris: ['https://app.example/callback'],
    grantTypes: ['authorization_code', 'refresh_token'],
    responseTypes: ['code'],
    scope: '',
    metadata: {},
    registrationTokenHash: null,
    createdBy: null,
  };
}

function oidcLink(owner: User) {
  return {
    userId: owner.id,
    issuer: 'https://idp.example',
    subject: `sub-${owner.username}`,
    tokens: {
      accessToken: 'oat-1',
      refreshToken: 'ort-1',
      expiry: new Date(Date.now() + 3600_000),
      issuedAt: new Date(),
      extra: {},
    },
    claims: { email: owner.email, email_verified: true, username: owner.username, name: '', groups: [] },
  };
}

function link(owner: User) {
  return {
    userId: owner.id,
    providerId: 'github',
    tokens: {
      accessToken: 'at-1',
      refreshToken: 'rt-1',
      expiry: new Date(Date.now() + 3600_000),
      issuedAt: new Date(),
      extra: {},
    },
  };
}

function linkState(owner: User, fill: number) {
  return {
    stateHash: Buffer.alloc(32, fill),
    userId: owner.id,
    providerId: 'github',
    codeVerifier: 'v',
    redirectUri: 'http://127.0.0.1/callback',
    returnTo: '/',
    expiresAt: new Date(Date.now() + 600_000),
  };
}

function newKey(owner: User, name = 'k') {
  const key = generateKey();
  return {
    id: key.id,
    hashedSecret: key.hashedSecret,
    userId: owner.id,
    name,
    loginType: 'token' as const,
    scopes: ['latchkey:all'],
    allowList: ['*:*'],
    lifetimeSeconds: 3600,
    expiresAt: new Date(Date.now() + 3600_000),
  };
}

describe('every store method checks the actor', () => {
  // Run in order: later cases use rows earlier ones made (the custom role).
  for (const [method, run] of Object.entries(cases)) it(method, run);

  it('has a case for every method of the store (add one when you add a method)', () => {
    const methods = Object.keys(kit.raw).filter((m) => m !== 'inTx');
    expect(methods.filter((m) => !(m in cases))).toEqual([]);
  });
});

describe('roles in effect', () => {
  it('a deleted custom role stops granting anything', async () => {
    const grant = {
      organizationId: org.id,
      name: 'temp-reader',
      displayName: 'Temp',
      orgPermissions: allow('template', 'read').map(permissionToStored),
      userPermissions: [],
    };
    await as('orgAdmin').insertCustomRole(grant);
    const frank = await kit.user('frank', { orgRoles: ['temp-reader'] });
    const template = { type: 'template' as const, id: 't1', orgId: org.id };
    expect((await kit.subject(frank)).can('read', template)).toBe(true);
    await as('orgAdmin').softDeleteCustomRole({ organizationId: org.id, name: 'temp-reader' });
    expect((await kit.subject(frank)).can('read', template)).toBe(false);
  });

  it('system users hold no roles, not even the implicit ones', async () => {
    expect((await kit.subject(u.robot as User)).roles).toEqual([]);
  });

  it('system actors cannot do what their job does not need', async () => {
    await refused(
      kit.authz.as(systemActors.systemAuthn).insertUser({ email: 'q@example.com', username: 'q' }),
      'create',
    );
    await refused(kit.authz.as(systemActors.systemPurge).getUserById({ id: u.alice?.id as string }), 'read');
  });
});
