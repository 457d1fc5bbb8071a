#!/usr/bin/env bash
# The end-to-end demo behind `make demo`: a fresh ledger in a temporary root, a parameter sweep
# run by the batch runner, a scan batch ingested from existing run roots, every projection
# rebuilt, a SQL query, the gap audit, sealing, and verification against a saved anchor.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${SWEEPLEDGER_BIN:-$here/../.venv/bin/sweepledger}"
root="$(mktemp -d "${TMPDIR:-/tmp}/sweepledger-demo.XXXXXX")"
sl() { "$bin" --root "$root" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "run a parameter sweep (examples/sweep.yaml, 2 workers)"
sl run "$here/sweep.yaml" --workers 2 --batch-id sweep-demo
step "ingest three users' scan run roots (examples/run_roots)"
sl ingest run-roots "$here/run_roots" --batch-id scans-demo
step "rebuild every projection from the ledger"
sl rebuild
step "batch report (batches/sweep-demo/report.md)"
sed -n '1,25p' "$root/batches/sweep-demo/report.md"
step "hypothesis leaderboard of the scans"
sl leaderboard --batch scans-demo --top 5
step "SQL over the projection database"
sl query "SELECT name, status, round(duration_s, 3) AS s FROM outcomes WHERE batch = 'sweep-demo' ORDER BY index"
step "gap audit"
sl gaps
step "save an anchor, seal into Parquet, append, verify against the anchor"
sl head > "$root/ledger.anchor"
sl seal
sl append x.demo.note --data '{"text": "appended after sealing"}'
sl verify --anchor-file "$root/ledger.anchor" --deep
printf '\nroot: %s\ntry:  %s --root %s log | tail\n' "$root" "$bin" "$root"
