#!/usr/bin/env bash
# `make test`: every test, against a real Postgres, a real Redis and real DNS tools.
#
# Uses the Postgres and Redis already running on 127.0.0.1 (5432 with trust auth, 6379) when
# they answer (a Postgres that wants a password does not count: psql -w never prompts); otherwise starts private ones under .apex/test/ and stops them afterwards.
# Installs what the tests need (dig, redis-server, Postgres) with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

state=${APEX_STATE_DIR:-$PWD/.apex}/test
mkdir -p "$state"

command -v cargo >/dev/null || die "cargo is needed: install Rust from https://rustup.rs"
# dig for the transfer tests, redis-server for the Redis-outage test, pg_isready to probe,
# named-checkzone and kzonecheck to load the zone files Apex writes, dnssec-signzone to sign
# test zones, nsd for the nameserver's differential test, named and knotd as interop peers,
# ldns-verify-zone (with dnssec-verify) to check what Apex signs, python3 for aiosmtpd;
# pebble (a test ACME CA) and certbot, whose hooks use curl and jq, and openssl for Pebble's
# certificate, to get a real certificate through a scoped key (tests/acme_certbot.rs), and
# nsupdate and certbot's RFC 2136 plugin for DNS UPDATE (tests/dns_update.rs, the same file).
ensure_packages dig:bind9-dnsutils nsupdate:bind9-dnsutils redis-server:redis-server redis-cli:redis-tools pg_isready:postgresql-client \
  named-checkzone:bind9-utils kzonecheck:knot-dnssecutils dnssec-signzone:bind9-utils \
  nsd:nsd named:bind9 knotd:knot ldns-verify-zone:ldnsutils python3:python3 \
  pebble:pebble certbot:certbot curl:curl jq:jq openssl:openssl
certbot_python=$(head -n1 "$(command -v certbot)" | sed 's/^#! *//')
if ! $certbot_python -c 'import certbot_dns_rfc2136' 2>/dev/null; then
  apt_install python3-certbot-dns-rfc2136
fi

# The dashboard's browser tests (tests/browser.rs): Debian's Chromium driven by chromedriver,
# and axe-core (from npm, into target/, pinned below) for the accessibility check.
ensure_packages chromium:chromium chromedriver:chromium-driver npm:npm
axe_dir=$PWD/target/browser-test
axe_version=4.14.1
if [[ ! -f $axe_dir/node_modules/axe-core/axe.min.js ]] \
    || [[ $(node -p "require('$axe_dir/node_modules/axe-core/package.json').version" 2>/dev/null) != "$axe_version" ]]; then
  log "installing axe-core $axe_version (npm) into target/browser-test"
  mkdir -p "$axe_dir"
  npm install --prefix "$axe_dir" --no-audit --no-fund --silent "axe-core@$axe_version" \
    || die "npm could not install axe-core, which the browser tests need"
fi
export APEX_AXE_JS=$axe_dir/node_modules/axe-core/axe.min.js APEX_BROWSER_TESTS=required

# octoDNS with its BIND/RFC 2136 provider (PyPI), synced into Apex over UPDATE and AXFR
# (tests/octodns.rs).
if ! command -v octodns-sync >/dev/null || ! python3 -c 'import octodns_bind' 2>/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  log "installing octodns and octodns-bind (pip)"
  python3 -m pip install --quiet octodns octodns-bind 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages octodns octodns-bind \
    || die "pip could not install octodns and octodns-bind, which tests/octodns.rs needs"
  command -v octodns-sync >/dev/null || die "octodns-sync was installed but is not on PATH ($PATH)"
fi

# aiosmtpd (Python) is the SMTP server the mail tests deliver to (worker/tests/mail.rs).
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  if python3 -m pip --version >/dev/null 2>&1; then
    log "installing aiosmtpd (pip)"
    # A Debian python3 refuses plain pip installs (PEP 668); the second try says it may.
    python3 -m pip install --quiet aiosmtpd 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages aiosmtpd \
      || die "pip could not install aiosmtpd, which the mail tests need"
  elif command -v apt-get >/dev/null; then
    apt_install python3-aiosmtpd
  else
    die "the mail tests need the Python package aiosmtpd and $(command -v python3) has no pip: install pip or aiosmtpd"
  fi
  python3 -c 'import aiosmtpd' 2>/dev/null \
    || die "aiosmtpd was installed but $(command -v python3) cannot import it"
fi

private_pg="" private_redis=""
cleanup() {
  if [[ -n $private_redis ]]; then stop_private_redis "$state"; fi
  if [[ -n $private_pg ]]; then stop_private_postgres "$state"; fi
  return 0
}
trap cleanup EXIT

# Each #[sqlx::test] creates its own database through this URL.
if [[ -n ${APEX_TEST_DATABASE_URL:-} ]]; then
  DATABASE_URL=$APEX_TEST_DATABASE_URL
elif pg_isready -q -h 127.0.0.1 -p 5432 \
    && PGCONNECT_TIMEOUT=3 psql -w -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
else
  DATABASE_URL=$(start_private_postgres "$state" postgres)
  private_pg=1
fi
if [[ -n ${APEX_TEST_REDIS_URL:-} ]]; then
  :
elif [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]]; then
  APEX_TEST_REDIS_URL=redis://127.0.0.1:6379
else
  APEX_TEST_REDIS_URL=$(start_private_redis "$state")
  private_redis=1
fi
export DATABASE_URL APEX_TEST_REDIS_URL
# Builds use the committed offline query data (.sqlx/): a query without it fails the build.
export SQLX_OFFLINE=true

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets (warnings are errors)"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
log "cargo test (Postgres: ${DATABASE_URL%%\?*}, Redis: $APEX_TEST_REDIS_URL)"
cargo test --workspace --locked "$@"
# The API against its OpenAPI document: `apex all` on a fresh database, the document checked
# as OpenAPI 3.1, then Schemathesis on every operation (scripts/contract.sh says how).
log "API contract: openapi-spec-validator and Schemathesis against a live apex all"
scripts/contract.sh
