// Runs one of the test suite's fake identity providers on a fixed port, so the token vault
// and OIDC sign-in can be tried on a laptop without registering an app anywhere. The fake
// approves every authorization at once (no login page) as the user "octocat".
//
//   npm run fake-provider -- github     (or gitlab, oidc)
import { startFakeProvider } from '../test/fakes/index.ts';

const flavour = (process.argv[2] ?? 'github') as 'github' | 'gitlab' | 'oidc';
if (!['github', 'gitlab', 'oidc'].includes(flavour)) {
  console.error('usage: npm run fake-provider -- [github|gitlab|oidc]');
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3100);
const fake = await startFakeProvider({ flavour, port, accessTokenTtlSeconds: 3600 });

const lines =
  flavour === 'oidc'
    ? [
        `LATCHKEY_OIDC_ISSUER_URL=${fake.issuer}`,
        `LATCHKEY_OIDC_CLIENT_ID=${fake.clientId}`,
        `LATCHKEY_OIDC_CLIENT_SECRET=${fake.clientSecret}`,
      ]
    : [
        `LATCHKEY_EXTERNAL_AUTH_0_TYPE=${flavour}`,
        `LATCHKEY_EXTERNAL_AUTH_0_CLIENT_ID=${fake.clientId}`,
        `LATCHKEY_EXTERNAL_AUTH_0_CLIENT_SECRET=${fake.clientSecret}`,
        `LATCHKEY_EXTERNAL_AUTH_0_AUTH_URL=${fake.authUrl}`,
        `LATCHKEY_EXTERNAL_AUTH_0_TOKEN_URL=${fake.tokenUrl}`,
        `LATCHKEY_EXTERNAL_AUTH_0_VALIDATE_URL=${fake.validateUrl}`,
        `LATCHKEY_EXTERNAL_AUTH_0_REVOKE_URL=${fake.revokeUrl}`,
        `LATCHKEY_EXTERNAL_AUTH_0_DEVICE_CODE_URL=${fake.deviceCodeUrl}`,
      ];
console.log(`Fake ${flavour} provider at ${fake.url} (Ctrl-C to stop). Start Latchkey with:\n`);
console.log(`${lines.map((l) => `export ${l}`).join('\n')}\n`);
const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
