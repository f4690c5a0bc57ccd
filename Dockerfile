# One image for the indexer, the API and the portal (the command differs per service).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY indexer ./indexer
COPY search_api ./search_api
COPY ui ./ui
COPY .streamlit ./.streamlit
COPY scripts ./scripts
RUN pip install --no-cache-dir .
# search.dictionary_translations reads Debian's FreeDict French → English dictionary (GPL-2+: installed, not shipped)
RUN apt-get update && apt-get install -y --no-install-recommends dict-freedict-fra-eng && rm -rf /var/lib/apt/lists/*
# Every path a service writes lives on a volume of docker-compose.yml (index and user data on "index",
# the audit chain on "audit", keys on "secrets"), the same in the API and in the indexers: their cohort
# watch reads the saved cohorts, owners and pseudonym key and appends to the API's audit chain.
ENV MEDSEARCH_INDEX__DIR=/data/var/index \
    MEDSEARCH_API__AUDIT_LOG=/data/audit/audit.log \
    MEDSEARCH_API__USER_DATA=/data/var/user_data.sqlite \
    MEDSEARCH_SECURITY__SECRETS_DIR=/data/secrets \
    MEDSEARCH_API__HOST=0.0.0.0
EXPOSE 8000 8501
CMD ["medsearch", "serve"]
