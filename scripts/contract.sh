#!/usr/bin/env bash
# The API against its own OpenAPI document (scripts/test.sh runs this after `cargo test`).
#
# Starts `apex all` (the debug build) on a fresh database and free ports, checks that
# /api/v1/openapi.json is valid OpenAPI 3.1 (openapi-spec-validator), then lets Schemathesis
# call every operation with an administrator's API key, a bounded number of generated
# requests each (on test data from scripts/contract_fixtures.py), and fail on any 5xx, any
# status the document does not list, and any response body, content type or header that
# does not match it.
#
# Needs DATABASE_URL (a Postgres where it may create and drop a database) and
# APEX_TEST_REDIS_URL, as scripts/test.sh exports them. Installs schemathesis and
# openapi-spec-validator with pip when missing. APEX_CONTRACT_EXAMPLES (default 20) is the
# number of generated requests per operation in the fuzzing phase; APEX_CONTRACT_LOG, a file
# to keep Schemathesis' whole output in.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

: "${DATABASE_URL:?set DATABASE_URL to a Postgres server (scripts/test.sh does)}"
: "${APEX_TEST_REDIS_URL:?set APEX_TEST_REDIS_URL to a Redis (scripts/test.sh does)}"
examples=${APEX_CONTRACT_EXAMPLES:-20}

# The tools, in the python3 that runs them (no reliance on where pip puts its scripts).
if ! python3 -c 'import schemathesis, openapi_spec_validator' 2>/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 \
    || die "the API contract test needs pip for $(command -v python3) (schemathesis, openapi-spec-validator)"
  log "installing schemathesis and openapi-spec-validator (pip)"
  # A Debian python3 refuses plain pip installs (PEP 668); the second try says it may.
  python3 -m pip install --quiet schemathesis openapi-spec-validator 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages schemathesis openapi-spec-validator \
    || die "pip could not install schemathesis and openapi-spec-validator"
  python3 -c 'import schemathesis, openapi_spec_validator' 2>/dev/null \
    || die "schemathesis was installed but $(command -v python3) cannot import it"
fi

log "building apex (debug)"
SQLX_OFFLINE=true cargo build --locked --quiet --bin apex
work=$(mktemp -d)
# A copy: another build may replace target/debug/apex while this one runs.
cp target/debug/apex "$work/apex"
apex=$work/apex

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# DATABASE_URL with another database name, whatever its form (host and port, or a socket
# directory in the query).
with_database() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))
PY
}

db=apex_contract_$$_$RANDOM
server=""
# redis-cli on the test Redis, a URL or (scripts/lib.sh's private one) a unix socket.
redis() {
  case $APEX_TEST_REDIS_URL in
    redis+unix://*) redis-cli -s "${APEX_TEST_REDIS_URL#redis+unix://}" "$@" ;;
    *) redis-cli -u "$APEX_TEST_REDIS_URL" "$@" ;;
  esac
}
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  psql -q -w "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  if command -v redis-cli >/dev/null; then
    redis --scan --pattern "contract-$db:*" 2>/dev/null | while read -r k; do redis del "$k" >/dev/null; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

psql -q -w "$DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
http=127.0.0.1:$(free_port)
export APEX_DATABASE_URL
APEX_DATABASE_URL=$(with_database "$DATABASE_URL" "$db")
export APEX_REDIS_URL=$APEX_TEST_REDIS_URL
export APEX_REDIS_PREFIX="contract-$db:"
export APEX_HTTP_LISTEN=$http
export APEX_DNS_LISTEN=127.0.0.1:$(free_port)
export APEX_TRANSFER_LISTEN=127.0.0.1:$(free_port)
export APEX_PUBLIC_URL=http://$http
export APEX_TSIG_KEY="apex-fleet:hmac-sha256:$(head -c 32 /dev/urandom | base64)"
APEX_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export APEX_MASTER_KEY
# The fixtures' webhooks point at a closed loopback port: nothing outside is called.
export APEX_WEBHOOK_ALLOW_PRIVATE=true
export APEX_WEBHOOK_PORTS="*"
# Schemathesis sends thousands of requests a minute: with the rate limits on, most would be
# 429 (which every operation documents) and the operations themselves would go untested.
export APEX_RATE_LIMIT=false
export RUST_LOG=${RUST_LOG:-warn}

"$apex" migrate >/dev/null
# The administrator and its key get ids no generator will guess: Schemathesis fills path
# parameters with small numbers, and PATCH /admin/users/1 {"disabled": true} or
# DELETE /keys/1 would end the run's own access, which is not what it is testing.
psql -q -w "$APEX_DATABASE_URL" -c "SELECT setval(pg_get_serial_sequence('users', 'id'), 7340000000 + (random() * 1e6)::bigint), setval(pg_get_serial_sequence('api_keys', 'id'), 7350000000 + (random() * 1e6)::bigint)" >/dev/null
credentials=$("$apex" admin bootstrap --email contract@apex.test)
api_key=$(sed -n 's/^api_key=//p' <<<"$credentials")
[[ -n $api_key ]] || die "apex admin bootstrap printed no api_key"

"$apex" all >"$work/apex.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://$http/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/apex.log" >&2; die "apex all exited"; }
  sleep 0.2
done
curl -sf "http://$http/healthz" >/dev/null || { cat "$work/apex.log" >&2; die "apex all did not answer on $http"; }

log "openapi-spec-validator: /api/v1/openapi.json as OpenAPI 3.1"
curl -sf "http://$http/api/v1/openapi.json" >"$work/openapi.json"
python3 -m openapi_spec_validator --schema 3.1 "$work/openapi.json"

# A domain with something in it for the operations to work on, and the config naming it.
python3 scripts/contract_fixtures.py "http://$http" "$api_key" "$work/schemathesis.toml"

log "schemathesis: every operation, $examples generated requests each"
started=$SECONDS
set +e
# From the scratch directory: Schemathesis keeps a crash cache where it runs.
(cd "$work" && python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; schemathesis()' \
  --config-file "$work/schemathesis.toml" \
  run "http://$http/api/v1/openapi.json" \
  --header "Authorization: Bearer $api_key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$examples" \
  --generation-database none \
  --no-color \
  >"$work/schemathesis.log" 2>&1)
status=$?
set -e
# The failures in full when there are any; the summary line always.
if ((status != 0)); then
  cat "$work/schemathesis.log"
  log "apex log (warnings and errors)"
  tail -n 200 "$work/apex.log"
fi
cases=$(grep -E '^ +[0-9]+ generated' "$work/schemathesis.log" | tail -n 1 | sed 's/^ *//' || true)
summary=$(grep -E '^=+ .* in [0-9.]+s =+$' "$work/schemathesis.log" | tail -n 1 | sed 's/^=* *//; s/ *=*$//' || true)
if [[ -n ${APEX_CONTRACT_LOG:-} ]]; then cp "$work/schemathesis.log" "$APEX_CONTRACT_LOG"; fi
log "schemathesis: ${cases:-no test cases}; ${summary:-no summary line (see above)} ($((SECONDS - started)) s in all)"
exit "$status"
