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

# Without configured keys, make one facilitator key for this run so the page's admin view and
# feedback work out of the box; it lives only in this process's environment.
if [ -z "${TOWNSQUARE_API_KEYS:-}" ]; then
  key="local-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export TOWNSQUARE_API_KEYS="{\"$key\": [\"facilitators\"]}"
  export TOWNSQUARE_API_KEY="$key"
fi

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
[ -n "${key:-}" ] && echo "Facilitator API key for this run: $key (the page already uses it)"
echo "Press Ctrl-C to stop both."
wait -n "${pids[@]}"
