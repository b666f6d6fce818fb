import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateClient, type ProviderContext } from './context.ts';
import { TokenError } from './errors.ts';
import { applyFault } from './faults.ts';
import { normaliseScope } from './flavours.ts';
import { readParams, sendOAuth } from './http.ts';
import type { DeviceRecord, Issued } from './store.ts';
import type { FakeUser } from './types.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 8628 §6.1: consonants only, so no words; shown as XXXX-XXXX. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** How a user would type it: case and dashes do not matter. */
function userCodeKey(userCode: string): string {
  return userCode.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** POST deviceCodeUrl: starts a device authorization (RFC 8628 §3.1). */
export async function handleDeviceAuthorization(
  ctx: ProviderContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  ctx.stats.deviceCodeCalls += 1;
  const fault = ctx.faults.take('device');
  if (fault) return applyFault(res, fault, {});
  const params = await readParams(req, ctx.profile.formUnlessJsonAccepted);
  try {
    if (!params) throw new TokenError('invalidRequest');
    const clientId = authenticateClient(ctx, req, params, false);
    const now = ctx.store.now();
    const record: DeviceRecord = {
      deviceCode: randomBytes(20).toString('hex'),
      userCode: newUserCode(),
      clientId,
      scope: normaliseScope(ctx.profile, params.get('scope')),
      expiresAt: now + ctx.deviceCodeTtlSeconds * 1000,
      intervalSeconds: ctx.deviceIntervalSeconds,
      lastPollAt: undefined,
      status: 'pending',
      sub: undefined,
    };
    ctx.store.devices.set(record.deviceCode, record);
    ctx.store.deviceByUserCode.set(userCodeKey(record.userCode), record);
    const body: Record<string, unknown> = {
      device_code: record.deviceCode,
      user_code: record.userCode,
      verification_uri: ctx.urls.verification,
      expires_in: ctx.deviceCodeTtlSeconds,
      interval: record.intervalSeconds,
    };
    if (ctx.flavour !== 'github') {
      body.verification_uri_complete = `${ctx.urls.verification}?user_code=${record.userCode}`;
    }
    sendOAuth(req, res, ctx.profile, 200, body);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    const { status, body } = err.render(ctx.profile);
    sendOAuth(req, res, ctx.profile, status, body);
  }
}

/** The device_code grant at the token endpoint (RFC 8628 §3.4–3.5). */
export function deviceCodeGrant(ctx: ProviderContext, params: URLSearchParams, clientId: string): Issued {
  const deviceCode = params.get('device_code');
  if (!deviceCode) throw new TokenError('invalidRequest');
  const record = ctx.store.devices.get(deviceCode);
  if (!record || record.clientId !== clientId || record.status === 'used')
    throw new TokenError('badDeviceCode');
  const now = ctx.store.now();
  if (now >= record.expiresAt) throw new TokenError('expiredToken');
  const tooSoon = record.lastPollAt !== undefined && now - record.lastPollAt < record.intervalSeconds * 1000;
  record.lastPollAt = now;
  if (tooSoon) {
    // "the interval MUST be increased by 5 seconds for this and all subsequent requests"
    record.intervalSeconds += 5;
    throw new TokenError('slowDown', ctx.profile.errorsAsOk ? { interval: record.intervalSeconds } : {});
  }
  if (record.status === 'denied') throw new TokenError('accessDenied');
  if (record.status === 'pending' || record.sub === undefined) throw new TokenError('authorizationPending');
  record.status = 'used';
  return ctx.store.issue(
    { sub: record.sub, clientId, scope: record.scope, nonce: undefined },
    ctx.accessTokenTtlSeconds,
  );
}

/** The test's stand-in for a user typing the code on the verification page. */
export function decideDevice(ctx: ProviderContext, userCode: string, decision: FakeUser | 'deny'): void {
  const record = ctx.store.deviceByUserCode.get(userCodeKey(userCode));
  if (!record) throw new Error(`fake provider: no device code with user code ${JSON.stringify(userCode)}`);
  if (record.status !== 'pending')
    throw new Error(`fake provider: user code ${userCode} is ${record.status}`);
  if (ctx.store.now() >= record.expiresAt) throw new Error(`fake provider: user code ${userCode} expired`);
  if (decision === 'deny') {
    record.status = 'denied';
    return;
  }
  record.status = 'approved';
  record.sub = decision.sub;
}
