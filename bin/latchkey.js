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
// V8's compile cache (on disk, keyed by file content) also keeps the type-stripped form
// of our TypeScript, so later starts skip both parsing and stripping: faster start-up, and
// Node's TypeScript stripper (a WebAssembly module) is not even loaded.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli/main.ts');
