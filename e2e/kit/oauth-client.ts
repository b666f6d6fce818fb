import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuth2App } from '../../src/db/index.ts';
import type { StoreKit } from '../../test/kit/store.ts';

// The client side of the browser OAuth tests: a native app as an MCP client registers one
// (a loopback redirect URI without a port, so any port may be used), and the page its
// redirect lands on.

/** A public native client with a loopback redirect, allowed user:read and api_key:read. */
export function insertNativeApp(kit: StoreKit, clientId: string, name: string): Promise<OAuth2App> {
  return kit.raw.insertOAuth2App({
    clientId,
    origin: 'dynamic',
    name,
    applicationType: 'native',
    tokenEndpointAuthMethod: 'none',
    redirectUris: ['http://127.0.0.1/callback'],
    grantTypes: ['authorization_code', 'refresh_token'],
    responseTypes: ['code'],
    scope: 'user:read api_key:read',
    metadata: {},
    registrationTokenHash: null,
    createdBy: null,
  });
}

export interface CallbackPage {
  /** http://127.0.0.1:<port>/callback */
  readonly url: string;
  close(): Promise<void>;
}

/** The client's redirect target: a page on a loopback port of its own. */
export async function startCallbackPage(): Promise<CallbackPage> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Callback</title><h1>Back at the app</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
