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

# Demo secrets, generated on the first run and never committed (var/ is git-ignored): the API's
# signing and pseudonym keys appear on first use; here the local demo accounts (argon2 hashes in
# users.json, the clear passwords only in demo-logins.txt, mode 0600) and a .env for the Keycloak profile.
SECRETS="${MEDSEARCH_SECURITY__SECRETS_DIR:-var/secrets}"
mkdir -p "$SECRETS" && chmod 700 "$SECRETS"
if [ ! -f "$SECRETS/demo-logins.txt" ]; then
  clinician=$("$BIN/medsearch" users add clinicien --role clinician --name "Dr Démo Clinicien")
  researcher=$("$BIN/medsearch" users add chercheur --role researcher --name "Démo Chercheur")
  admin=$("$BIN/medsearch" users add admin --role admin --name "Démo Admin")
  (umask 077
   printf 'clinicien  (clinician)   %s\nchercheur  (researcher)  %s\nadmin      (admin)       %s\n' \
     "$clinician" "$researcher" "$admin" > "$SECRETS/demo-logins.txt"
   "$BIN/python" -c 'import secrets
for name in ("KEYCLOAK_ADMIN_PASSWORD", "MEDSEARCH_OIDC_CLIENT_SECRET", "MEDSEARCH_DEMO_CLINICIAN_PASSWORD", "MEDSEARCH_DEMO_RESEARCHER_PASSWORD"):
    print(f"{name}={secrets.token_urlsafe(18)}")' > "$SECRETS/keycloak.env")
fi

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
echo "Log in to the portal with one of these local demo accounts (also in $SECRETS/demo-logins.txt):"
echo "  as a clinician (identified data):       user clinicien, password $(awk '/^clinicien/ {print $3}' "$SECRETS/demo-logins.txt")"
echo "  as a researcher (de-identified view):   user chercheur, password $(awk '/^chercheur/ {print $3}' "$SECRETS/demo-logins.txt")"
echo "  as an admin (stats, audit):             user admin,     password $(awk '/^admin/ {print $3}' "$SECRETS/demo-logins.txt")"
MEDSEARCH_UI__API_URL="http://127.0.0.1:$API_PORT" \
  "$BIN/streamlit" run ui/app.py --server.headless true --server.port "$UI_PORT" --browser.gatherUsageStats false
