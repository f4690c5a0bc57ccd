#!/usr/bin/env bash
# Build the demo corpus and index, then serve the API and the portal until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
API_PORT="${MEDSEARCH_API__PORT:-8000}"
UI_PORT="${MEDSEARCH_UI__PORT:-8501}"

if [ ! -f data/demo/ground_truth.json ]; then
  "$BIN/medsearch" demo-corpus data/demo
fi
"$BIN/medsearch" index data/demo

"$BIN/medsearch" serve --port "$API_PORT" &
API_PID=$!
trap 'kill $API_PID 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 60); do
  if "$BIN/python" -c "import httpx,sys; httpx.get('http://127.0.0.1:$API_PORT/health').raise_for_status()" 2>/dev/null; then
    break
  fi
  sleep 1
done
echo "API:    http://127.0.0.1:$API_PORT/docs"
echo "Portal: http://127.0.0.1:$UI_PORT"
MEDSEARCH_UI__API_URL="http://127.0.0.1:$API_PORT" \
  "$BIN/streamlit" run ui/app.py --server.headless true --server.port "$UI_PORT" --browser.gatherUsageStats false
