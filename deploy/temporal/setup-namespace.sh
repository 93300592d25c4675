#!/bin/sh
# One-shot job: create surveil's namespace and register its search attributes
# (surveil/search_attributes.py), so investigations can be found in the Web UI.
#
# Idempotent, so it runs on every `docker-compose up` and against an existing
# cluster. It reads the same connection settings as surveil's own processes
# (surveil/settings.py) and hands them to the temporal CLI.
set -eu

: "${SURVEIL_TEMPORAL_ADDRESS:?set SURVEIL_TEMPORAL_ADDRESS, e.g. temporal:7233}"
: "${SURVEIL_TEMPORAL_NAMESPACE:?set SURVEIL_TEMPORAL_NAMESPACE, e.g. surveil}"
: "${SURVEIL_SEARCH_ATTRIBUTES:?set SURVEIL_SEARCH_ATTRIBUTES to space-separated Name=Type pairs}"
export TEMPORAL_ADDRESS="$SURVEIL_TEMPORAL_ADDRESS"
if [ -n "${SURVEIL_TEMPORAL_TLS_CERT:-}" ]; then
  export TEMPORAL_TLS_CLIENT_CERT_PATH="$SURVEIL_TEMPORAL_TLS_CERT"
  export TEMPORAL_TLS_CLIENT_KEY_PATH="${SURVEIL_TEMPORAL_TLS_KEY:?SURVEIL_TEMPORAL_TLS_KEY must go with SURVEIL_TEMPORAL_TLS_CERT}"
fi
if [ -n "${SURVEIL_TEMPORAL_TLS_CA:-}" ]; then
  export TEMPORAL_TLS_SERVER_CA_CERT_PATH="$SURVEIL_TEMPORAL_TLS_CA"
fi
if [ -n "${SURVEIL_TEMPORAL_API_KEY:-}" ]; then
  export TEMPORAL_API_KEY="$SURVEIL_TEMPORAL_API_KEY"
fi
namespace=$SURVEIL_TEMPORAL_NAMESPACE
retention=${SURVEIL_NAMESPACE_RETENTION:-168h}
max_attempts=${SETUP_MAX_ATTEMPTS:-60}

# Retry a command: a fresh server answers health checks a few seconds before its
# namespace registry accepts writes.
retry() {
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$max_attempts" ]; then
      echo "giving up after $max_attempts attempts: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep 2
  done
}

echo "waiting for Temporal at $TEMPORAL_ADDRESS"
retry temporal operator cluster health >/dev/null

if temporal operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
  echo "namespace $namespace exists"
else
  echo "creating namespace $namespace (retention $retention)"
  retry temporal operator namespace create --namespace "$namespace" --retention "$retention"
fi

has_attribute() {
  temporal operator search-attribute list --namespace "$namespace" 2>/dev/null | grep -qw "$1"
}

for pair in $SURVEIL_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  kind=${pair#*=}
  if [ -z "$name" ] || [ "$name" = "$pair" ] || [ -z "$kind" ]; then
    echo "bad entry '$pair' in SURVEIL_SEARCH_ATTRIBUTES: expected Name=Type" >&2
    exit 2
  fi
  if has_attribute "$name"; then
    echo "search attribute $name exists"
  else
    echo "registering search attribute $name ($kind)"
    retry temporal operator search-attribute create --namespace "$namespace" --name "$name" --type "$kind"
  fi
done
echo "namespace $namespace is ready"
