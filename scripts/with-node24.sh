#!/usr/bin/env bash
# Runs a command on Node.js >= 22.18, fetching Node 24 from the npm registry first when
# the machine's node is older, so `npm start` and `npm test` work on any machine.
source "$(dirname "$0")/node24.sh" >/dev/null || exit 1
exec "$@"
