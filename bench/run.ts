// `npm run bench [-- name …]`: runs the named benchmarks (all by default), each printing
// ratios against a baseline measured in the same run and writing JSON to bench/results/.
import { benchAuth } from './auth.ts';
import { benchAuthz } from './authz.ts';
import { benchDbcrypt } from './dbcrypt.ts';
import { benchExternalAuth } from './externalauth.ts';
import { benchHealthz } from './healthz.ts';
import { benchOAuth2 } from './oauth2.ts';
import { benchStartup } from './startup.ts';

const BENCHES: Record<string, () => Promise<void>> = {
  auth: () => benchAuth(),
  authz: () => benchAuthz(),
  dbcrypt: () => benchDbcrypt(),
  externalauth: () => benchExternalAuth(),
  healthz: () => benchHealthz(),
  oauth2: () => benchOAuth2(),
  startup: () => benchStartup(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (have: ${Object.keys(BENCHES).join(', ')})`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  await BENCHES[name]?.();
}
