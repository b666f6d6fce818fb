#!/usr/bin/env node
// Entry point. Latchkey's sources are TypeScript run by Node's type stripping, which is
// on by default from Node 22.18; say so plainly instead of failing with a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `latchkey: Node.js 22.18 or newer is needed (24 LTS recommended); this is ${process.version}.\n` +
      'On a machine with an older node, run `source scripts/node24.sh` first.',
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
