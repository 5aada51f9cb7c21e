#!/usr/bin/env bash
# `make run`: the whole platform on this machine, in one process (`apex all`).
#
# Without APEX_DATABASE_URL / APEX_REDIS_URL it starts a private Postgres cluster and Redis
# under .apex/ (installing them with apt-get when missing), generates the fleet TSIG key on
# first start, migrates, creates an administrator and an API key on first start, and prints
# where everything listens and how to log in.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

state=${APEX_STATE_DIR:-$PWD/.apex}
mkdir -p "$state"

command -v cargo >/dev/null || die "cargo is needed: install Rust from https://rustup.rs"
ensure_packages redis-cli:redis-tools dig:bind9-dnsutils

private_pg="" private_redis=""
if [[ -z ${APEX_DATABASE_URL:-} ]]; then
  APEX_DATABASE_URL=$(start_private_postgres "$state" apex)
  private_pg=1
fi
if [[ -z ${APEX_REDIS_URL:-} ]]; then
  APEX_REDIS_URL=$(start_private_redis "$state")
  private_redis=1
fi
export APEX_DATABASE_URL APEX_REDIS_URL

if [[ -z ${APEX_TSIG_KEY:-} ]]; then
  if [[ ! -s $state/tsig.key ]]; then
    (umask 077; echo "apex-fleet:hmac-sha256:$(head -c 32 /dev/urandom | base64)" >"$state/tsig.key")
    log "generated the fleet TSIG key ($state/tsig.key)"
  fi
  APEX_TSIG_KEY=$(cat "$state/tsig.key")
fi
export APEX_TSIG_KEY

# The master key sealing DNSSEC private keys: generated once, kept beside the state (losing
# it loses every signed zone's keys).
if [[ -z ${APEX_MASTER_KEY:-} ]]; then
  if [[ ! -s $state/master.key ]]; then
    (umask 077; head -c 32 /dev/urandom | base64 >"$state/master.key")
    log "generated the DNSSEC master key ($state/master.key)"
  fi
  APEX_MASTER_KEY=$(cat "$state/master.key")
fi
export APEX_MASTER_KEY

cleanup() {
  if [[ -n $private_redis ]]; then stop_private_redis "$state"; fi
  if [[ -n $private_pg ]]; then stop_private_postgres "$state"; fi
  return 0
}
trap cleanup EXIT

log "building apex (release)"
SQLX_OFFLINE=true cargo build --release --locked --quiet --bin apex
apex=target/release/apex

"$apex" migrate >/dev/null

# First start (no user in the database yet): an administrator and an API key.
bootstrap=$("$apex" admin bootstrap --email "${APEX_ADMIN_EMAIL:-admin@apex.test}")
if [[ -n $bootstrap ]]; then
  (umask 077; echo "$bootstrap" >"$state/credentials")
  first_start=1
fi
[[ -s $state/credentials ]] || die "the database has users but $state/credentials is gone: create a key with 'apex admin create-api-key --email …'"
# shellcheck disable=SC1091
source "$state/credentials"

http=${APEX_HTTP_LISTEN:-127.0.0.1:8080}
dns=${APEX_DNS_LISTEN:-127.0.0.1:5300}
# Links in mails (verification, password reset, invitations) point here.
export APEX_PUBLIC_URL=${APEX_PUBLIC_URL:-http://$http}
dns_host=${dns%:*} dns_port=${dns##*:}
cat <<MSG

  Apex — $( [[ -n ${first_start:-} ]] && echo "first start: an administrator was created" || echo "welcome back")

  Web UI     http://$http/
  API        http://$http/api/v1/
  DNS        $dns (UDP and TCP)
  Transfers  ${APEX_TRANSFER_LISTEN:-127.0.0.1:5399} (AXFR with the TSIG key in $state/tsig.key)

  Log in     http://$http/login  as  $email / $password  (a platform administrator)
  API key    $api_key
             (kept in $state/credentials; the API never shows a key twice)
  Mail       ${APEX_SMTP_URL:+sent through \$APEX_SMTP_URL}${APEX_SMTP_URL:-printed to this log (no APEX_SMTP_URL): verification and reset links appear below}

  Try it:
    export APEX_API_KEY=$api_key
    curl -s -H "Authorization: Bearer \$APEX_API_KEY" -H 'Content-Type: application/json' \\
         -d '{"name": "example.com"}' http://$http/api/v1/domains
    curl -s -H "Authorization: Bearer \$APEX_API_KEY" -H 'Content-Type: application/json' \\
         -d '{"name": "www", "type": "A", "ttl": 300, "content": "192.0.2.1"}' \\
         http://$http/api/v1/domains/example.com/records
    dig @$dns_host -p $dns_port www.example.com A

MSG
"$apex" all
