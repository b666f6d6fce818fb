import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Organization, User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// Two servers on one database stand for two replicas, each with its own subject cache.
const db = useTestDatabase();
let kit: StoreKit;
let a: TestServer;
let b: TestServer;
let owner: User;
let alice: User;
let carol: User;
let other: Organization;

beforeAll(async () => {
  kit = storeKit(db.url);
  owner = await kit.user('root', { siteRoles: ['owner'] });
  alice = await kit.user('alice');
  carol = await kit.raw.insertUser({ email: 'carol@example.com', username: 'carol' });
  other = await kit.raw.insertOrganization({ name: 'other' });
  await kit.raw.insertOrganizationMember({ organizationId: other.id, userId: carol.id, roles: [] });
  a = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
  b = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await kit.close();
});

const canReadAuditLog = async (server: TestServer, user: User) => {
  const res = await server.request('/api/v1/authcheck', {
    method: 'POST',
    headers: asUser(user, { 'content-type': 'application/json' }),
    body: JSON.stringify({ checks: { audit: { action: 'read', object: { resource_type: 'audit_log' } } } }),
  });
  return ((await res.json()) as { audit: boolean }).audit;
};

it('a role granted through one replica takes effect on another at once (LISTEN/NOTIFY)', async () => {
  expect(await canReadAuditLog(b, alice)).toBe(false);
  expect(b.subjects.size).toBeGreaterThan(0); // alice's subject is now cached on b

  const heard = new Promise<void>((resolve) => {
    const off = b.subjects.onInvalidate((change) => {
      if (change !== 'all' && 'userId' in change && change.userId === alice.id) {
        off();
        resolve();
      }
    });
  });
  const grant = await a.request(`/api/v1/users/${alice.id}/roles`, {
    method: 'PUT',
    headers: asUser(owner, { 'content-type': 'application/json' }),
    body: JSON.stringify({ roles: ['auditor'] }),
  });
  expect(grant.status).toBe(200);
  await heard;
  expect(await canReadAuditLog(b, alice)).toBe(true);
});

it('an organization lookup refused to one caller is not cached as missing for the next (RB-6)', async () => {
  const dave = await kit.user('dave');
  // carol is not a member of "default": for her it does not exist...
  const refused = await b.request('/api/v1/organizations/default', { headers: asUser(carol) });
  expect(refused.status).toBe(404);
  // ...but that must not be what dave, who is a member, gets from the shared cache.
  const allowed = await b.request('/api/v1/organizations/default', { headers: asUser(dave) });
  expect(allowed.status).toBe(200);
  // And the reverse order: a cached organization is still checked for every caller.
  expect((await b.request('/api/v1/organizations/other', { headers: asUser(carol) })).status).toBe(200);
  expect((await b.request('/api/v1/organizations/other', { headers: asUser(dave) })).status).toBe(404);
});
