#!/usr/bin/env bash
# A CI integrity check for a repository that commits its sweepledger root and anchor:
#   1. verify the ledger still holds the last committed anchor (history not rewritten, not cut);
#   2. fail on intents that were never answered (gaps --fail);
#   3. optionally, fail when committed report files were edited by hand (CHECK_OUTPUTS=1);
#   4. optionally, judge a tournament batch with a strict scoreboard (SCOREBOARD_BATCH, GATES);
#   5. refresh the anchor file to the current head (commit it with the new events).
# Exit 0 when every check passes; the first failing check's exit code otherwise (1: a check
# failed, 2: bad input). Settings come from the environment:
#   SWEEPLEDGER_ROOT (default artifacts), ANCHOR_FILE (default ledger.anchor),
#   SWEEPLEDGER (the command, default sweepledger), CHECK_OUTPUTS, SCOREBOARD_BATCH, GATES.
set -euo pipefail
root="${SWEEPLEDGER_ROOT:-artifacts}"
anchor="${ANCHOR_FILE:-ledger.anchor}"
read -r -a sl <<< "${SWEEPLEDGER:-sweepledger}"
run() { "${sl[@]}" --root "$root" "$@"; }

if [ -f "$anchor" ]; then
  run verify --anchor-file "$anchor"
else
  echo "no anchor file $anchor yet: verifying without one" >&2
  run verify
fi
run gaps --fail
if [ -n "${CHECK_OUTPUTS:-}" ]; then
  run rebuild --check
fi
if [ -n "${SCOREBOARD_BATCH:-}" ]; then
  run scoreboard --batch "$SCOREBOARD_BATCH" --gates "${GATES:-gates.yaml}" > /dev/null
fi
run head > "$anchor"
echo "ok: anchor $(cat "$anchor") written to $anchor" >&2
