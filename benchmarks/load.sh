#!/usr/bin/env bash
# The load table in docs/PERFORMANCE.md, on 127.0.0.1 only, stopping by itself:
#   1. one replica serving the embedded demo store (and one serving a 1M-finding demo store), at 1/8/16/32 sessions;
#   2. deploy/cluster.sh's two replicas on PostgreSQL: one replica alone, then both behind HAProxy, same levels;
#   3. 4 writers making workflow moves on the PostgreSQL store for 5 minutes, then lost writes and trail verify.
#
#   benchmarks/load.sh [OUT.json]      LOAD_SECONDS per level (60), WRITE_SECONDS (300; 0: no writers), LOAD_LARGE (1000000),
#                                      LOAD_PARTS ("demo large cluster": any of them; OUT keeps the parts not run)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-bench-load.json}"
LEVEL_SECONDS="${LOAD_SECONDS:-60}"
WRITE_SECONDS="${WRITE_SECONDS:-300}"
LARGE="${LOAD_LARGE:-1000000}"
PARTS="${LOAD_PARTS:-demo large cluster}"
PYTHON="${PYTHON:-python}"
work="$(mktemp -d /tmp/closeloop-load-XXXXXX)"
chmod 755 "$work"  # the cluster's PostgreSQL runs as its own user when this runs as root
replica=""
cleanup() {
    [[ -n "$replica" ]] && kill "$replica" 2>/dev/null || true
    CLOSELOOP_CLUSTER="$work/cluster" deploy/cluster.sh down || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$PYTHON" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

serve() {  # serve STORE: one replica on the embedded store; sets $replica and $url
    local port; port="$(free_port)"
    CLOSELOOP_DB="$1" "$PYTHON" -m streamlit run dashboard.py --server.address 127.0.0.1 --server.port "$port" \
        --server.headless true --browser.gatherUsageStats false > "$work/replica.log" 2>&1 &
    replica=$!
    url="http://127.0.0.1:$port/"
    for _ in $(seq 120); do
        curl -sf "${url}_stcore/health" >/dev/null && return 0
        sleep 1
    done
    echo "the replica did not start" >&2
    exit 1
}

stop() { kill "$replica"; wait "$replica" 2>/dev/null || true; replica=""; }

load() {  # load NAME URL[,URL] [more bench arguments]
    local name="$1" urls="$2"; shift 2
    "$PYTHON" -m closeloop bench --load "$urls" --load-seconds "$LEVEL_SECONDS" --json "$work/$name.json" "$@"
}

if [[ " $PARTS " == *" demo "* ]]; then
    "$PYTHON" -m closeloop demo --db "$work/demo.duckdb" >/dev/null
    serve "$work/demo.duckdb"
    load embedded-demo "$url"
    stop
fi

if [[ " $PARTS " == *" large "* ]]; then
    "$PYTHON" -m closeloop demo --db "$work/large.duckdb" --ncs "$LARGE" >/dev/null
    serve "$work/large.duckdb"
    load embedded-large "$url"
    stop
    rm -f "$work/large.duckdb"
fi

if [[ " $PARTS " == *" cluster "* ]]; then
    port="$(free_port)"
    CLOSELOOP_CLUSTER="$work/cluster" CLOSELOOP_PORT="$port" deploy/cluster.sh up >/dev/null
    db="$(cat "$work/cluster/db")"
    writers=()
    if [[ "$WRITE_SECONDS" != 0 ]]; then writers=(--writers 4 --write-seconds "$WRITE_SECONDS" --db "$db"); fi
    load postgresql "http://127.0.0.1:$((port + 1))/,http://127.0.0.1:$port/" "${writers[@]}"
fi

"$PYTHON" - "$work" "$OUT" "$LARGE" <<'PY'
import json, sys
from pathlib import Path
work, out, large = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
names = {"embedded-demo": "one replica, embedded, demo (3,000)",
         "embedded-large": f"one replica, embedded, {int(large):,}",
         "postgresql": "PostgreSQL, demo (3,000)"}
document = json.loads(out.read_text()) if out.exists() else {}
document |= {name: json.loads((work / f"{name}.json").read_text()) for name in names if (work / f"{name}.json").exists()}
out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
print(f"wrote {out}")
PY
