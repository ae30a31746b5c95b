#!/usr/bin/env bash
# A local cluster on 127.0.0.1: a throwaway PostgreSQL, two dashboard replicas on it, HAProxy in front with
# sticky sessions (Streamlit keeps a session in its process). For trying the scale-out, not for production
# (docs/SCALING.md says how to run it on real machines).
#
#   deploy/cluster.sh up [LEDGER...]   start it; import the ledgers (default: the demo, 3,000 findings);
#                                      prints the dashboard's URL and the store's URL
#   deploy/cluster.sh down             stop everything and remove the cluster's folder
#
# CLOSELOOP_CLUSTER: the cluster's folder (default /tmp/closeloop-cluster); CLOSELOOP_PORT: HAProxy's port
# (default 8600; the replicas take the next two, PostgreSQL the one after).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE="${CLOSELOOP_CLUSTER:-/tmp/closeloop-cluster}"
PORT="${CLOSELOOP_PORT:-8600}"
PGPORT=$((PORT + 3))
PYTHON="${PYTHON:-python}"

pg_bin() {
    command -v "$1" 2>/dev/null || { [[ -x "/usr/lib/postgresql/15/bin/$1" ]] && echo "/usr/lib/postgresql/15/bin/$1"; } \
        || { echo "PostgreSQL's $1 is not installed (Debian: apt-get install postgresql)" >&2; exit 1; }
}

# initdb and postgres refuse to run as root: as root, run them as Debian's postgres user
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_for() {  # wait_for URL SECONDS
    for _ in $(seq "$2"); do
        if "$PYTHON" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 1
    done
    echo "no answer from $1 after $2 s" >&2
    return 1
}

up() {
    if [[ -e "$STATE" ]]; then
        echo "a cluster is already in $STATE: deploy/cluster.sh down first" >&2
        exit 1
    fi
    command -v haproxy >/dev/null || { echo "HAProxy is not installed (Debian: apt-get install haproxy)" >&2; exit 1; }
    mkdir -p "$STATE/pg"
    if [[ "$(id -u)" == 0 ]]; then chown postgres "$STATE/pg"; fi
    as_owner "$(pg_bin initdb)" -D "$STATE/pg/data" -A trust -U closeloop -E UTF8 --locale=C --no-sync >/dev/null
    as_owner "$(pg_bin pg_ctl)" -D "$STATE/pg/data" -l "$STATE/pg/log" -w \
        -o "-h 127.0.0.1 -p $PGPORT -k $STATE/pg -c max_connections=200" start >/dev/null
    local db="postgresql://closeloop@127.0.0.1:$PGPORT/postgres"
    echo "$db" > "$STATE/db"
    if [[ $# -gt 0 ]]; then
        CLOSELOOP_CACHE="$STATE/cache-cli" "$PYTHON" -m closeloop import "$@" --db "$db"
    else
        CLOSELOOP_CACHE="$STATE/cache-cli" "$PYTHON" -m closeloop demo --db "$db"
    fi
    for n in 1 2; do
        CLOSELOOP_DB="$db" CLOSELOOP_CACHE="$STATE/cache-$n" nohup "$PYTHON" -m streamlit run dashboard.py \
            --server.address 127.0.0.1 --server.port $((PORT + n)) --server.headless true \
            --browser.gatherUsageStats false > "$STATE/replica-$n.log" 2>&1 &
        echo $! > "$STATE/replica-$n.pid"
    done
    cat > "$STATE/haproxy.cfg" <<EOF
global
    maxconn 2000

defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h

frontend closeloop
    bind 127.0.0.1:$PORT
    default_backend replicas

# round robin for new sessions; a cookie keeps each browser on its replica (its session, uploads, sign-in)
backend replicas
    balance roundrobin
    cookie CLOSELOOP_REPLICA insert indirect nocache
    option httpchk GET /_stcore/health
    http-response set-header X-Closeloop-Replica %[srv_name]
    server replica1 127.0.0.1:$((PORT + 1)) check cookie replica1
    server replica2 127.0.0.1:$((PORT + 2)) check cookie replica2
EOF
    haproxy -f "$STATE/haproxy.cfg" -D -p "$STATE/haproxy.pid"
    wait_for "http://127.0.0.1:$((PORT + 1))/_stcore/health" 120
    wait_for "http://127.0.0.1:$((PORT + 2))/_stcore/health" 120
    wait_for "http://127.0.0.1:$PORT/_stcore/health" 30
    echo "dashboard: http://127.0.0.1:$PORT/"
    echo "store: $db"
}

down() {
    [[ -e "$STATE" ]] || return 0
    for pidfile in "$STATE"/replica-*.pid "$STATE/haproxy.pid"; do
        [[ -e "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    if [[ -e "$STATE/pg/data/postmaster.pid" ]]; then
        as_owner "$(pg_bin pg_ctl)" -D "$STATE/pg/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$STATE"
}

case "${1:-}" in
    up) shift; up "$@" ;;
    down) down ;;
    *) echo "usage: deploy/cluster.sh up [LEDGER...] | down" >&2; exit 2 ;;
esac
