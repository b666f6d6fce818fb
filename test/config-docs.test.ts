import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { renderConfigDocs } from '../src/config/index.ts';

it('docs/config.md is generated from the current option list (run `npm run docs:config`)', () => {
  const committed = readFileSync(new URL('../docs/config.md', import.meta.url), 'utf8');
  expect(committed).toBe(renderConfigDocs());
});
