#!/usr/bin/env bash
# Start a local PostgreSQL/PostGIS server for geoplan's gazetteer (development and tests).
#
#   scripts/start_postgres.sh           install if needed, start (or see it running), print the URL
#   scripts/start_postgres.sh --stop    stop the server this script started
#
# No manual steps: installs the Debian packages postgresql and postgresql-15-postgis-3 with
# apt-get when they are missing (as root, or through sudo), makes a cluster in $GEOPLAN_PG_DIR
# (default /tmp/geoplan-pg-$USER) owned by the postgres user (when run as root) or by you,
# listening on 127.0.0.1:$GEOPLAN_PG_PORT (default 55432) and a unix socket in that folder, with
# "trust" authentication for local connections only (a development server: never expose it).
# It creates the database $GEOPLAN_PG_DB (default geoplan) with PostGIS and writes its URL to
# $GEOPLAN_PG_DIR/url; the tests read GEOPLAN_TEST_PG, else that file.
# Idempotent: a second run sees the server running and says so.
set -euo pipefail

ME=$(id -un)
DIR=${GEOPLAN_PG_DIR:-/tmp/geoplan-pg-$ME}
PORT=${GEOPLAN_PG_PORT:-55432}
DB=${GEOPLAN_PG_DB:-geoplan}
DATA=$DIR/data
LOG=$DIR/server.log

say() { printf '%s\n' "$*" >&2; }

# --- who runs the server: never root (PostgreSQL refuses), so root hands over to "postgres".
if [ "$(id -u)" = 0 ]; then
    as_pg() { runuser -u postgres -- "$@"; }
    SUDO=""
else
    as_pg() { "$@"; }
    SUDO=$(command -v sudo >/dev/null 2>&1 && echo "sudo -n" || echo "")
fi

find_bin() {
    local v
    for v in 17 16 15 14 13; do
        if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then echo "/usr/lib/postgresql/$v/bin"; return 0; fi
    done
    command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
    return 1
}

have_postgis() {
    local share
    share=$("$1/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/15)
    ls "$share"/extension/postgis.control >/dev/null 2>&1
}

BIN=$(find_bin || true)
if [ -z "$BIN" ] || ! have_postgis "$BIN"; then
    say "安装 PostgreSQL/PostGIS (apt-get install postgresql postgresql-15-postgis-3) …"
    if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
        say "错误：缺少 PostgreSQL/PostGIS，且不是 root、没有 sudo。请管理员安装 postgresql 和 postgresql-15-postgis-3。"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >&2
    pkgs="postgresql postgresql-15-postgis-3"
    # Systems without PostgreSQL 15 get the PostGIS package of the version they offer.
    if ! apt-cache show postgresql-15-postgis-3 >/dev/null 2>&1; then
        pkgs="postgresql $(apt-cache search --names-only '^postgresql-[0-9]+-postgis-3$' | sort -V | tail -1 | cut -d' ' -f1)"
    fi
    $SUDO apt-get install -y -q $pkgs >&2
    BIN=$(find_bin)
fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$DIR"
    chown postgres: "$DIR"
else
    mkdir -p "$DIR"
fi
chmod 700 "$DIR"

if [ "${1:-}" = "--stop" ]; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast stop >&2 || say "PostgreSQL 没有在运行 (not running)."
    exit 0
fi

if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    say "PostgreSQL 已在运行 (already running): $DATA, port $PORT"
else
    if [ ! -s "$DATA/PG_VERSION" ]; then
        say "新建数据库集群 (initdb) $DATA …"
        as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust \
            --auth-host=trust >/dev/null
        cat >>"$DATA/postgresql.conf" <<EOF
# geoplan development server (scripts/start_postgres.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 100
shared_buffers = 128MB
fsync = on
EOF
        if [ "$(id -u)" = 0 ]; then chown postgres: "$DATA/postgresql.conf"; fi
    fi
    say "启动 PostgreSQL (port $PORT, log $LOG) …"
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null
    say "PostgreSQL 已启动 (started)."
fi

export PGOPTIONS='-c client_min_messages=warning'
PSQL=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1)
for _ in $(seq 1 30); do
    if "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" >/dev/null 2>&1; then break; fi
    sleep 1
done
if [ -z "$("${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
fi
"${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null

URL="postgresql://postgres@127.0.0.1:$PORT/$DB"
printf '%s\n' "$URL" >"$DIR/url"
chmod 644 "$DIR/url"
say "数据库地址 (URL) 已写入 $DIR/url；使用：export GEOPLAN_TEST_PG=$URL"
echo "$URL"
