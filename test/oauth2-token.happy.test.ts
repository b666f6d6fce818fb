import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type Answer, exchange, type Flow, ISSUER, REDIRECT, startFlow } from './kit/oauth2-flow.ts';

// OA-4: the token endpoint's grants as clients use them.

const db = useTestDatabase();
let flow: Flow;
let ada: User;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
});
afterAll(() => flow.close());

const me = (token: string) =>
  flow.server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
const refresh = (client: Parameters<Flow['token']>[0], token: string, extra: Record<string, string> = {}) =>
  flow.token(client, { grant_type: 'refresh_token', refresh_token: token, ...extra });
/** Moves a refresh token's rotation back in time (the window is measured by the database). */
const ageRotation = (seconds: number) =>
  sql`UPDATE oauth2_refresh_tokens SET rotated_at = rotated_at - make_interval(secs => ${seconds}) WHERE rotated_at IS NOT NULL`.execute(
    flow.kit.handle.db,
  );

describe('authorization_code', () => {
  it('exchanges a code for a Bearer access token that works at the API, and a refresh token', async () => {
    const client = await flow.createApp();
    const got = await flow.code(client, ada);
    expect(got.location.origin + got.location.pathname).toBe(REDIRECT);
    expect(got.location.searchParams.get('state')).toBe('st-1');
    expect(got.location.searchParams.get('iss')).toBe(ISSUER);
    const res = await flow.token(client, {
      grant_type: 'authorization_code',
      code: got.code,
      code_verifier: got.verifier,
      redirect_uri: REDIRECT,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await res.json()) as Answer;
    expect(body).toEqual({
      access_token: expect.stringMatching(/^lk_/),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'latchkey:all',
      refresh_token: expect.stringMatching(/^lkrt_/),
    });
    const who = await me(body.access_token);
    expect(who.status).toBe(200);
    expect((await who.json()) as Answer).toMatchObject({ username: 'ada' });
  });

  it('authenticates confidential clients with client_secret_basic and client_secret_post', async () => {
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      const client = await flow.createApp({ method });
      const tokens = await exchange(flow, client, await flow.code(client, ada));
      expect((await me(tokens.access_token)).status).toBe(200);
    }
  });

  it('issues no refresh token to a client whose grant_types lack refresh_token', async () => {
    const client = await flow.createApp({ grantTypes: ['authorization_code'] });
    const tokens = await exchange(
      flow,
      client,
      await flow.code(client, ada, { scope: 'user:read offline_access' }),
    );
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.scope).toBe('user:read');
  });

  it('issues a refresh token with or without offline_access, and echoes offline_access when asked', async () => {
    const client = await flow.createApp();
    const asked = await exchange(
      flow,
      client,
      await flow.code(client, ada, { scope: 'user:read offline_access' }),
    );
    expect(asked).toMatchObject({ scope: 'user:read offline_access', refresh_token: expect.any(String) });
    const plain = await exchange(flow, client, await flow.code(client, ada, { scope: 'user:read' }));
    expect(plain).toMatchObject({ scope: 'user:read', refresh_token: expect.any(String) });
  });

  it('accepts the authorized resource again at the token endpoint, in any spelling of it', async () => {
    const client = await flow.createApp();
    const got = await flow.code(client, ada, { resource: 'http://127.0.0.1:3000/mcp' });
    const tokens = await exchange(flow, client, got, { resource: 'HTTP://127.0.0.1:3000/mcp' });
    expect((await me(tokens.access_token)).status).toBe(200);
  });
});

describe('refresh_token', () => {
  it('rotates: a new pair, the old refresh token spent, the original scope kept when none is asked', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(
      flow,
      client,
      await flow.code(client, ada, { scope: 'user:read api_key:read' }),
    );
    const res = await refresh(client, tokens.refresh_token as string);
    expect(res.status).toBe(200);
    const next = (await res.json()) as Answer;
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.access_token).not.toBe(tokens.access_token);
    expect(next.scope).toBe('user:read api_key:read');
    expect((await me(next.access_token)).status).toBe(200);
    // The successor rotates in its turn.
    expect((await refresh(client, next.refresh_token)).status).toBe(200);
  });

  it('narrows the scope of the access token, never the grant, and refuses widening', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(
      flow,
      client,
      await flow.code(client, ada, { scope: 'user:read api_key:read' }),
    );
    const narrow = (await (
      await refresh(client, tokens.refresh_token as string, { scope: 'user:read' })
    ).json()) as Answer;
    expect(narrow.scope).toBe('user:read');
    // The API enforces the narrowed scope: with user:read alone, ada's key is not readable.
    await issueKey(flow.kit.raw, {
      userId: ada.id,
      name: 'probe',
      loginType: 'token',
      scopes: ['latchkey:all'],
      allowList: ['*:*'],
      lifetimeMs: 60_000,
      now: new Date(),
    });
    const probe = (token: string) =>
      flow.server.request('/api/v1/users/me/keys/probe', { headers: { authorization: `Bearer ${token}` } });
    expect((await probe(tokens.access_token)).status).toBe(200);
    expect((await probe(narrow.access_token)).status).toBe(404);
    // The grant is unchanged: the next refresh without scope gets all of it back.
    const whole = (await (await refresh(client, narrow.refresh_token)).json()) as Answer;
    expect(whole.scope).toBe('user:read api_key:read');
    const wider = await refresh(client, whole.refresh_token, { scope: 'user:read user:update' });
    expect(wider.status).toBe(400);
    expect((await wider.json()) as Answer).toMatchObject({ error: 'invalid_scope' });
  });

  it('narrows the resource to one within the grant, never another', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const inside = await refresh(client, tokens.refresh_token as string, { resource: `${ISSUER}/mcp` });
    expect(inside.status).toBe(200);
    const next = (await inside.json()) as Answer;
    const elsewhere = await refresh(client, next.refresh_token, { resource: 'https://other.example/' });
    expect(elsewhere.status).toBe(400);
    expect((await elsewhere.json()) as Answer).toMatchObject({ error: 'invalid_target' });
  });

  it('answers a repeat within the grace window with the same successor (an idempotent retry)', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const first = (await (await refresh(client, tokens.refresh_token as string)).json()) as Answer;
    const again = await refresh(client, tokens.refresh_token as string);
    expect(again.status).toBe(200);
    const second = (await again.json()) as Answer;
    expect(second.refresh_token).toBe(first.refresh_token);
    expect(second.access_token).toBe(first.access_token);
    expect((await me(second.access_token)).status).toBe(200);
    // Nothing was revoked: the successor goes on working.
    expect((await refresh(client, first.refresh_token)).status).toBe(200);
  });

  it('answers racing refreshes of one token with one successor, all of them', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => refresh(client, tokens.refresh_token as string)),
    );
    const bodies = await Promise.all(answers.map((r) => r.json() as Promise<Answer>));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(new Set(bodies.map((b) => b.refresh_token)).size).toBe(1);
    expect(new Set(bodies.map((b) => b.access_token)).size).toBe(1);
    expect((await refresh(client, (bodies[0] as Answer).refresh_token)).status).toBe(200);
  });

  it('revokes the whole family when a rotated token comes back after the window', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const next = (await (await refresh(client, tokens.refresh_token as string)).json()) as Answer;
    expect((await me(next.access_token)).status).toBe(200);
    await ageRotation(31);
    const reuse = await refresh(client, tokens.refresh_token as string);
    expect(reuse.status).toBe(400);
    expect((await reuse.json()) as Answer).toMatchObject({ error: 'invalid_grant' });
    expect((await me(next.access_token)).status).toBe(401);
    expect((await me(tokens.access_token)).status).toBe(401);
    expect((await refresh(client, next.refresh_token)).status).toBe(400);
  });
});

describe('client_credentials', () => {
  it('gives an admin-created confidential app a token of its creator, within its ceiling', async () => {
    const owner = await flow.kit.user('creator', { siteRoles: ['owner'] });
    const client = await flow.createApp({
      origin: 'admin',
      method: 'client_secret_basic',
      grantTypes: ['client_credentials'],
      scope: 'user:read',
      createdBy: owner.id,
    });
    const res = await flow.token(client, { grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Answer;
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'user:read',
    });
    expect((await (await me(body.access_token)).json()) as Answer).toMatchObject({ username: 'creator' });
    const wider = await flow.token(client, { grant_type: 'client_credentials', scope: 'user:update' });
    expect((await wider.json()) as Answer).toMatchObject({ error: 'invalid_scope' });
  });

  it('refuses public clients and apps nobody created', async () => {
    const open = await flow.createApp({ grantTypes: ['client_credentials'] });
    const res = await flow.token(open, { grant_type: 'client_credentials' });
    expect(res.status).toBe(401);
    expect((await res.json()) as Answer).toMatchObject({ error: 'invalid_client' });
    const orphan = await flow.createApp({ method: 'client_secret_post', grantTypes: ['client_credentials'] });
    const refused = await flow.token(orphan, { grant_type: 'client_credentials' });
    expect((await refused.json()) as Answer).toMatchObject({ error: 'unauthorized_client' });
  });
});
