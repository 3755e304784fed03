#!/usr/bin/env bash
# Start the API and the Streamlit page together; Ctrl-C (or any exit) stops both.
set -euo pipefail
VENV=${VENV:-.venv}
INDEX=${INDEX:-var/sample-index}
API_PORT=${API_PORT:-8000}
UI_PORT=${UI_PORT:-8501}
export HF_HUB_OFFLINE=1
export TOWNSQUARE_INDEX_DIR="$INDEX"
export TOWNSQUARE_API_URL="http://127.0.0.1:$API_PORT"

# the sample's private groups: its mentors channel, the private Slack channel and Discourse
# category (their loaders make them visible to `slack:<channel>` and `discourse:<category slug>`)
OPERATOR_GROUPS=${OPERATOR_GROUPS:-mentors,slack:mentors-circle,discourse:mentors-lounge}

# A fresh facilitator key for the person who started this run, made with `townsquare keys add`
# (only its hash is stored, in $INDEX/keys.json) and printed below for them to paste into the
# page's sidebar. The page itself never holds a key: visitors read anonymously or enter theirs.
"$VENV/bin/townsquare" keys revoke make-run --index "$INDEX" >/dev/null 2>&1 || true
key=$("$VENV/bin/townsquare" keys add make-run --groups "$OPERATOR_GROUPS" --role facilitator \
  --index "$INDEX" 2>/dev/null | tail -n 1) || { echo "could not make a key in $INDEX" >&2; exit 1; }
unset TOWNSQUARE_API_KEY

pids=()
stop() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

"$VENV/bin/townsquare" serve --index "$INDEX" --host 127.0.0.1 --port "$API_PORT" &
pids+=($!)
"$VENV/bin/streamlit" run ui/page.py --server.headless true --server.address 127.0.0.1 \
  --server.port "$UI_PORT" --browser.gatherUsageStats false --client.toolbarMode viewer >/dev/null &
pids+=($!)

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$API_PORT/health" >/dev/null 2>&1 && break
  sleep 0.5
done
echo "Townsquare API:  http://127.0.0.1:$API_PORT  (OpenAPI docs at /docs)"
echo "Townsquare page: http://127.0.0.1:$UI_PORT"
echo "Your facilitator key (groups: $OPERATOR_GROUPS), for the page's sidebar > Connection:"
echo "  $key"
echo "Press Ctrl-C to stop both."
wait -n "${pids[@]}"
