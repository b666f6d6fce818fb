import { flagName, OPTION_LIST, type OptionGroup } from './options.ts';

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
  return lines.join('\n');
}
