# Shared by scripts/run.sh and scripts/test.sh: Debian packages on demand, and a private
# Postgres cluster and Redis under a state directory (unix sockets only, so they never clash
# with a system Postgres or Redis on the usual ports).
# shellcheck shell=bash

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $* (install the package yourself, or install sudo)"
  fi
}

_apt_updated=""
# ensure_packages CMD:PACKAGE ... — installs PACKAGE with apt-get when CMD is missing.
ensure_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || [[ -x $cmd ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  apt_install "${missing[@]}"
}

apt_install() {
  command -v apt-get >/dev/null || die "missing $* and no apt-get to install them"
  log "installing $* (apt-get)"
  if [[ -z $_apt_updated ]]; then as_root apt-get update -qq >/dev/null; _apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# A directory for unix sockets: inside DIR unless that path is too long for a socket address
# (about 107 bytes), else a short one under /tmp named after DIR.
socket_dir() {
  local dir=$1/run
  if ((${#dir} > 80)); then dir="/tmp/apex-$(echo "$1" | sha256sum | cut -c1-12)"; fi
  mkdir -p "$dir"
  echo "$dir"
}

# The directory holding Postgres's own binaries (initdb, pg_ctl), newest version first.
pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -Vr); do
    [[ -x $d/initdb ]] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  return 1
}

ensure_postgres_binaries() {
  pg_bindir >/dev/null || apt_install postgresql
  pg_bindir >/dev/null || die "postgresql installed but initdb not found"
}

# Postgres refuses to run as root: then it runs as the 'postgres' system user, which must be
# able to reach the state directory; if it cannot (a clone under /root), use /var/tmp.
pg_user_prefix() {
  if [[ $(id -u) -eq 0 ]]; then echo "runuser -u postgres --"; fi
}

# start_private_postgres DIR DBNAME — prints the database URL.
start_private_postgres() {
  local dir=$1 db=$2 bindir run prefix
  ensure_postgres_binaries
  bindir=$(pg_bindir)
  prefix=$(pg_user_prefix)
  mkdir -p "$dir"
  if [[ -n $prefix ]] && ! runuser -u postgres -- test -x "$dir"; then
    local alt="/var/tmp/apex-$(echo "$dir" | sha256sum | cut -c1-12)"
    mkdir -p "$alt"; dir=$alt
  fi
  run=$(socket_dir "$dir")
  mkdir -p "$dir/pg"
  [[ -n $prefix ]] && chown postgres:postgres "$dir/pg" "$run"
  if [[ ! -f $dir/pg/PG_VERSION ]]; then
    log "creating a private Postgres cluster in $dir/pg"
    $prefix "$bindir/initdb" -D "$dir/pg" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
  fi
  if ! $prefix "$bindir/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
    log "starting private Postgres (socket in $run)"
    $prefix "$bindir/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w -t 30 \
      -o "-c listen_addresses='' -c unix_socket_directories='$run' -c fsync=off" start >/dev/null \
      || { tail -20 "$dir/pg/server.log" >&2; die "private Postgres did not start"; }
  fi
  "$bindir/psql" -h "$run" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
    || "$bindir/createdb" -h "$run" -U postgres "$db"
  echo "postgres://postgres@localhost/$db?host=$run"
}

# stop_private_postgres DIR
stop_private_postgres() {
  local dir=$1 bindir prefix
  bindir=$(pg_bindir) || return 0
  prefix=$(pg_user_prefix)
  if [[ -n $prefix ]] && ! runuser -u postgres -- test -x "$dir"; then
    dir="/var/tmp/apex-$(echo "$dir" | sha256sum | cut -c1-12)"
  fi
  if [[ -f $dir/pg/postmaster.pid ]]; then
    $prefix "$bindir/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
  fi
}

# start_private_redis DIR — prints the Redis URL.
start_private_redis() {
  local dir=$1
  ensure_packages redis-server:redis-server
  mkdir -p "$dir/redis"
  local sock
  sock="$(socket_dir "$dir")/redis.sock"
  if ! redis-cli -s "$sock" ping >/dev/null 2>&1; then
    log "starting private Redis (socket $sock)"
    redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$dir/redis" \
      --save '' --appendonly no --daemonize yes --pidfile "$dir/redis/redis.pid" \
      --logfile "$dir/redis/redis.log" >/dev/null
    for _ in $(seq 50); do redis-cli -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -s "$sock" ping >/dev/null 2>&1 || die "private Redis did not start"
  fi
  echo "redis+unix://$sock"
}

# stop_private_redis DIR
stop_private_redis() {
  local sock
  sock="$(socket_dir "$1")/redis.sock"
  if [[ -S $sock ]]; then redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true; fi
}
