// Writes docs/config.md from the option list (`npm run docs:config`).
import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from '../src/config/index.ts';

writeFileSync(new URL('../docs/config.md', import.meta.url), renderConfigDocs());
console.log('wrote docs/config.md');
