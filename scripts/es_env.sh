#!/usr/bin/env bash
# Write the untracked .env docker compose reads for its Elasticsearch profile: a generated password for
# the `elastic` superuser and for the API's and the indexers' own users (never committed: .env is
# git-ignored) and the heap size. An existing .env keeps its
# password, so running this twice never locks the API out of a cluster whose data volume already exists.
#   bash scripts/es_env.sh            # or: make es-env
#   docker compose --profile elasticsearch up -d elasticsearch api-es ui-es reindexer-es
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_FILE="${1:-.env}"
touch "$ENV_FILE"
chmod 600 "$ENV_FILE"
if ! grep -q '^ELASTIC_PASSWORD=' "$ENV_FILE"; then
  password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
  echo "ELASTIC_PASSWORD=$password" >> "$ENV_FILE"
  echo "es_env: generated ELASTIC_PASSWORD in $ENV_FILE"
else
  echo "es_env: $ENV_FILE already has ELASTIC_PASSWORD (kept)"
fi
# the least-privilege users es-setup creates (scripts/es_security_setup.py): the API reads, the indexers write
for name in MEDSEARCH_ES_API_PASSWORD MEDSEARCH_ES_INDEXER_PASSWORD; do
  if ! grep -q "^$name=" "$ENV_FILE"; then
    echo "$name=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')" >> "$ENV_FILE"
    echo "es_env: generated $name in $ENV_FILE"
  fi
done
grep -q '^ES_HEAP=' "$ENV_FILE" || echo "ES_HEAP=2g" >> "$ENV_FILE"
