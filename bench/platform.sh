# Shared by bench/propagation and bench/dns-update (sourced after scripts/lib.sh): starts, on
# loopback and a database of its own (created, migrated, dropped at the end), `apex serve`,
# `apex worker` and three `apex-dnsserver` processes, each a catalog secondary of the worker's
# transfer server and in the worker's APEX_NOTIFY (their rate limiting off). Sets `http`,
# `transfer`, `ns` (the three nameservers), `ns_pids` (theirs), `token` (an admin's API key),
# `work`, `worker_pid`, `serve_pid`, and `peer_addr` for the caller's `peers`.
#
# The caller sets `bench` (a name) and may export more APEX_ variables first. KEEP_WORK=1 keeps
# the work directory (the processes' logs) after the run.
ensure_packages createdb:postgresql-client dropdb:postgresql-client redis-cli:redis-tools
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
db=apex_${bench//-/_}_$$

log "building apex, apex-dnsserver and the bench (release)"
export SQLX_OFFLINE=true
cargo build --release --locked --quiet -p apex -p apex-dnsserver
cargo bench --locked --quiet -p apex --bench "${bench//-/_}" --no-run 2>/dev/null

work=$(mktemp -d "/tmp/apex-$bench.XXXXXX")
pids=() ns_pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  dropdb --if-exists --maintenance-db="$pgurl/postgres" "$db" 2>/dev/null || true
  redis-cli -u "$redis_url" --scan --pattern "$prefix*" 2>/dev/null | xargs -r redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
  if [[ -n ${KEEP_WORK:-} ]]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
prefix="bench-$bench-$$:"
trap cleanup EXIT

# Free loopback ports (TCP and UDP alike): API, transfers, three nameservers, and one for each
# of the caller's `peers` (names of other secondaries it starts, such as knot and nsd).
peers=(${peers[@]+"${peers[@]}"})
ports=($(PEERS=${#peers[@]} python3 - <<'PY'
import os, socket
found = []
while len(found) < 5 + int(os.environ["PEERS"]):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port)); u.close()
    except OSError:
        t.close(); continue
    found.append(port); t.close()
print(*found)
PY
))
http=127.0.0.1:${ports[0]} transfer=127.0.0.1:${ports[1]}
ns=(127.0.0.1:${ports[2]} 127.0.0.1:${ports[3]} 127.0.0.1:${ports[4]})
# peer_addr[name]: where each of the caller's peers is to listen; the worker NOTIFYs it too.
declare -A peer_addr=()
notify=("${ns[@]}")
for i in "${!peers[@]}"; do
  peer_addr[${peers[$i]}]=127.0.0.1:${ports[$((5 + i))]}
  notify+=("${peers[$i]}=127.0.0.1:${ports[$((5 + i))]}")
done

createdb --maintenance-db="$pgurl/postgres" "$db"
export APEX_DATABASE_URL=$pgurl/$db APEX_REDIS_URL=$redis_url APEX_REDIS_PREFIX=$prefix
export APEX_HTTP_LISTEN=$http APEX_TRANSFER_LISTEN=$transfer
# The benchmark measures propagation, not the API's rate limits.
export APEX_RATE_LIMIT=false
export APEX_NOTIFY=$(IFS=,; echo "${notify[*]}")
export APEX_TSIG_KEY="apex-fleet:hmac-sha256:$(head -c 32 /dev/urandom | base64)"
# Domains' TSIG keys and DNSSEC keys are sealed under it.
export APEX_MASTER_KEY=${APEX_MASTER_KEY:-$(head -c 32 /dev/urandom | base64)}
export RUST_LOG=${RUST_LOG:-warn}
apex=target/release/apex
"$apex" migrate >/dev/null
token=$("$apex" admin bootstrap --email bench@apex.test | sed -n 's/^api_key=//p')
[[ -n $token ]] || die "apex admin bootstrap printed no API key"

for i in 0 1 2; do
  cat >"$work/ns$i.toml" <<CONF
listen = ["${ns[$i]}"]
[catalog]
name = "catalog.apex.invalid."
primaries = ["$transfer"]
tsig_key = "$APEX_TSIG_KEY"
[rrl]
responses_per_second = 0
CONF
  target/release/apex-dnsserver --config "$work/ns$i.toml" >"$work/ns$i.log" 2>&1 &
  pids+=($!)
  ns_pids+=($!)
done
"$apex" worker >"$work/worker.log" 2>&1 &
pids+=($!)
worker_pid=$!
"$apex" serve >"$work/serve.log" 2>&1 &
pids+=($!)
serve_pid=$!

# Up when the API answers and the transfer server accepts connections.
for _ in $(seq 100); do
  if curl -sf "http://$http/healthz" >/dev/null && (exec 3<>"/dev/tcp/${transfer%:*}/${transfer##*:}") 2>/dev/null; then
    break
  fi
  sleep 0.1
done
curl -sf "http://$http/healthz" >/dev/null || { tail "$work"/*.log >&2; die "apex serve did not start"; }

