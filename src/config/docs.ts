import {
  EXTERNAL_AUTH_FIELDS,
  type ExternalAuthField,
  externalAuthEnvName,
  externalAuthFileKey,
} from './external-auth.ts';
import { flagName, OPTION_LIST, type OptionGroup } from './options.ts';
import { describeTypes } from './provider-types.ts';

const GROUP_TITLES: Record<OptionGroup, string> = {
  server: 'Server',
  database: 'Database',
  auth: 'Sessions and API keys',
  ratelimit: 'Rate limits',
  observability: 'Observability',
};

/** Renders docs/config.md from the option list; a test fails when the file is stale. */
export function renderConfigDocs(): string {
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/options.ts by `npm run docs:config`. Do not edit by hand. -->',
    '',
    'Every option can be set three ways. The first one found wins:',
    '',
    '1. a flag of `latchkey server` (for example `--http-address 0.0.0.0:3000`);',
    '2. an environment variable (for example `LATCHKEY_HTTP_ADDRESS=0.0.0.0:3000`);',
    '3. a key in the YAML or JSON file named by `--config` or `LATCHKEY_CONFIG`',
    '   (for example `http-address: 0.0.0.0:3000`).',
    '',
    'Durations are written like `500ms`, `30s`, `2m` or `1h30m`. An invalid value stops the',
    'process with exit code 2 and a message naming the variable and what is wrong with it.',
    '',
  ];
  for (const group of Object.keys(GROUP_TITLES) as OptionGroup[]) {
    lines.push(`## ${GROUP_TITLES[group]}`, '');
    lines.push('| Environment variable | Flag / file key | Default | Description |');
    lines.push('| --- | --- | --- | --- |');
    for (const def of OPTION_LIST.filter((d) => d.group === group)) {
      const flag = `\`--${flagName(def)} <${def.valueName}>\``;
      const fallback = def.default === undefined ? '(unset)' : `\`${def.default}\``;
      lines.push(`| \`${def.env}\` | ${flag} | ${fallback} | ${def.description} |`);
    }
    lines.push('');
  }
  lines.push(...externalAuthDocs());
  return lines.join('\n');
}

/** The provider fields (a numbered list, so not in the option table) and the defaults per type. */
function externalAuthDocs(): string[] {
  const lines = [
    '## External auth providers',
    '',
    'Upstream providers users can link (see [external-auth.md](external-auth.md)). Each provider is',
    'a group of variables `LATCHKEY_EXTERNAL_AUTH_<n>_<FIELD>` with n = 0, 1, 2, … (gaps allowed;',
    'providers are ordered by n), or an entry of the `external-auth` list in the config file using',
    'the file keys below. An env provider whose `ID` (or, without an ID, `TYPE`) matches a file',
    "entry overrides that entry field by field; other env providers come after the file's. An",
    'unknown field is an error, as is an id outside `[a-z0-9-]` or two providers with one id.',
    '',
    '| Environment variable | File key | Default | Description |',
    '| --- | --- | --- | --- |',
  ];
  for (const [field, def] of Object.entries(EXTERNAL_AUTH_FIELDS) as [
    ExternalAuthField,
    { description: string; fallback: string },
  ][]) {
    lines.push(
      `| \`${externalAuthEnvName('<n>', field)}\` | \`${externalAuthFileKey(field)}\` | ${def.fallback} | ${def.description} |`,
    );
  }
  lines.push('', '### Defaults per type', '');
  lines.push(
    'Every endpoint of each type is in `src/config/provider-types.ts`. "Self-hosted" types derive the',
    'other endpoints and `REGEX` from an `AUTH_URL` on another host (GitHub Enterprise Server, GitLab,',
    'Gitea), unless they are set too.',
    '',
    '| Type | Authorize URL | Scopes | PKCE | Device-code URL | Self-hosted |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const { type, spec, selfHosted } of describeTypes()) {
    const code = (s: string | undefined) => (s ? `\`${s}\`` : '—');
    const discovered = type === 'oidc' ? 'discovered' : '—';
    const authUrl = spec.endpoints.authUrl ? code(spec.endpoints.authUrl) : discovered;
    const device = spec.endpoints.deviceCodeUrl ? 'default' : discovered;
    const pkce = spec.pkce ? '`S256`' : '`none`';
    lines.push(
      `| \`${type}\` | ${authUrl} | ${code(spec.scopes.join(' '))} | ${pkce} | ${device} | ${selfHosted ? 'yes' : '—'} |`,
    );
  }
  lines.push('');
  return lines;
}
