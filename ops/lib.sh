# Shared helpers for the ops/ scripts. Source it; don't run it.
#
# Project-local servers only: PostgreSQL on $PG_PORT and Redis on $REDIS_PORT,
# both on 127.0.0.1 with their data under $DATA_DIR. Any PostgreSQL/Redis
# already running on the standard ports is neither used nor touched.
# Works with bash 3.2 (macOS) and newer.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# --- Settings (override from the environment) ---------------------------------
# Default ports lie below Linux's ephemeral range (32768-60999): a server port
# inside it can be held for a moment by an outgoing connection, and the server
# then fails to start with "Address already in use".
PG_PORT="${PG_PORT:-25432}"
REDIS_PORT="${REDIS_PORT:-25379}"
PORT="${PORT:-8000}"          # the public port (nginx)
API_PORT="${API_PORT:-$((PORT + 1))}"   # granian, WSGI: the API (loopback only)
LIVE_PORT="${LIVE_PORT:-$((PORT + 2))}" # granian, ASGI: live endpoints (loopback only)
BASE_DOMAIN="${BASE_DOMAIN:-localhost}"
DATA_DIR="${DATA_DIR:-$ROOT/.data}"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"   # interpreter used to create the venv

PG_USER=taskhub
PG_PASSWORD=taskhub
PG_DB=taskhub

log() { printf '[ops] %s\n' "$*" >&2; }
die() { printf '[ops] ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
is_macos() { [ "$(uname -s)" = Darwin ]; }

# DATA_DIR as an absolute, existing path.
_resolve_data_dir() {
    mkdir -p "$DATA_DIR"
    DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"
}

# --- System packages ------------------------------------------------------------

# Newest PostgreSQL bin directory that holds initdb, or empty.
find_pg_bindir() {
    local d cands=()
    [ -n "${PG_BINDIR:-}" ] && cands+=("$PG_BINDIR")
    command -v pg_config >/dev/null 2>&1 && cands+=("$(pg_config --bindir 2>/dev/null || true)")
    # /usr/lib/postgresql/<version>/bin, newest first (Debian/Ubuntu).
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
        cands+=("$d")
    done
    if command -v brew >/dev/null 2>&1; then
        for d in postgresql@17 postgresql@16 postgresql@15 postgresql; do
            cands+=("$(brew --prefix "$d" 2>/dev/null || true)/bin")
        done
    fi
    command -v initdb >/dev/null 2>&1 && cands+=("$(dirname "$(command -v initdb)")")
    for d in ${cands[@]+"${cands[@]}"}; do
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ]; then
            echo "$d"
            return 0
        fi
    done
    return 0
}

_python_has_venv() {
    command -v "$PYTHON" >/dev/null 2>&1 && "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1
}

# nginx, the public port's reverse proxy (Debian keeps it in /usr/sbin).
find_nginx() {
    if [ -n "${NGINX:-}" ] && [ -x "$NGINX" ]; then echo "$NGINX"; return 0; fi
    command -v nginx 2>/dev/null && return 0
    local p
    for p in /usr/sbin/nginx /opt/homebrew/bin/nginx /usr/local/bin/nginx; do
        [ -x "$p" ] && echo "$p" && return 0
    done
    return 0
}

# The proxy's configuration (ops/nginx.conf.template) in $1, for the public
# PORT on BIND_HOST in front of API_PORT and LIVE_PORT.
render_proxy_conf() {
    local dir="$1"
    mkdir -p "$dir"
    sed -e "s|@RUN_DIR@|$dir|g" -e "s|@BIND@|$BIND_HOST|g" -e "s|@PORT@|$PORT|g" \
        -e "s|@API_ADDR@|127.0.0.1:$API_PORT|g" -e "s|@LIVE_ADDR@|127.0.0.1:$LIVE_PORT|g" \
        -e "s|@MAX_BODY@|${MAX_REQUEST_BYTES:-1048576}|g" -e "s|@CONN_PER_CLIENT@|${CONN_PER_CLIENT:-256}|g" \
        "$ROOT/ops/nginx.conf.template" >"$dir/nginx.conf"
    echo "$dir/nginx.conf"
}

# Headless Chromium for the tests that load the docs page (tests/schema/test_docs_page.py
# calls this through tests/schema/conftest.py): Debian's `chromium`, installed when missing.
find_chromium() {
    local c
    for c in chromium chromium-browser google-chrome; do
        command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
    done
    return 0
}

ensure_chromium() {
    [ -n "$(find_chromium)" ] && { find_chromium; return 0; }
    if command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        if ! is_root; then
            command -v sudo >/dev/null 2>&1 || die "need root to install chromium"
            sudo="sudo"
        fi
        log "apt-get install chromium (headless browser for the docs-page test)" >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2 \
            || die "apt-get install chromium failed"
    elif is_macos; then
        brew install --cask chromium >&2
    else
        die "no package manager to install chromium with"
    fi
    [ -n "$(find_chromium)" ] || die "chromium was installed but is not on PATH"
    find_chromium
}

# Install PostgreSQL, Redis, nginx and python3-venv if missing (apt-get or Homebrew).
ensure_system_packages() {
    local missing=()
    [ -n "$(find_pg_bindir)" ] || missing+=(postgres)
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis)
    # The venv module is only needed when the venv does not exist yet.
    if [ ! -x "$VENV/bin/python" ] && ! _python_has_venv; then missing+=(python); fi
    [ -n "$(find_nginx)" ] || missing+=(nginx)
    [ ${#missing[@]} -eq 0 ] && return 0

    log "missing system packages for: ${missing[*]}"
    if is_macos; then
        command -v brew >/dev/null 2>&1 || die "install Homebrew first (https://brew.sh)"
        local pkgs=() m
        for m in "${missing[@]}"; do
            case "$m" in
                postgres) pkgs+=(postgresql@16) ;;
                redis) pkgs+=(redis) ;;
                python) pkgs+=(python@3.11) ;;
                nginx) pkgs+=(nginx) ;;
            esac
        done
        brew install "${pkgs[@]}"
    elif command -v apt-get >/dev/null 2>&1; then
        local pkgs=() m sudo=""
        for m in "${missing[@]}"; do
            case "$m" in
                postgres) pkgs+=(postgresql postgresql-client) ;;
                redis) pkgs+=(redis-server redis-tools) ;;
                python) pkgs+=(python3 python3-venv) ;;
                nginx) pkgs+=(nginx) ;;
            esac
        done
        if ! is_root; then
            command -v sudo >/dev/null 2>&1 || die "need root to install: ${pkgs[*]}"
            sudo="sudo"
        fi
        log "apt-get install ${pkgs[*]}"
        # Packages only: no system service started on the standard ports
        # (policy-rc.d refuses every start while this runs; ours run on our ports).
        local policy=/usr/sbin/policy-rc.d own_policy=0
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && own_policy=1
        fi
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" || {
            [ "$own_policy" = 1 ] && $sudo rm -f "$policy"
            die "apt-get install failed"
        }
        [ "$own_policy" = 1 ] && $sudo rm -f "$policy"
    else
        die "please install: ${missing[*]} (PostgreSQL server, redis-server, Python 3.11 with venv)"
    fi

    [ -n "$(find_nginx)" ] || die "nginx still not found (set NGINX)"
    [ -n "$(find_pg_bindir)" ] || die "PostgreSQL binaries still not found (set PG_BINDIR)"
    command -v redis-server >/dev/null 2>&1 || die "redis-server still not found"
}

# --- Python virtualenv --------------------------------------------------------------

# Bump when the install command below changes, to force a reinstall.
_INSTALL_RECIPE="pip -e v1"

_deps_hash() {
    {
        echo "$_INSTALL_RECIPE"
        cat "$ROOT/pyproject.toml"
        echo "--- constraints"
        cat "$ROOT/constraints.txt" 2>/dev/null || echo "(none)"
        "$VENV/bin/python" -V 2>&1
    } | cksum | cut -d' ' -f1
}

# Create .venv and `pip install -e '.[dev]'` when pyproject.toml or
# constraints.txt changed since the last successful install.
ensure_venv() {
    [ -f "$ROOT/pyproject.toml" ] || die "no pyproject.toml in $ROOT"
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "creating virtualenv $VENV"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    local stamp="$VENV/.taskhub-install-stamp" want
    want="$(_deps_hash)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]; then
        return 0
    fi
    local cons=()
    [ -f "$ROOT/constraints.txt" ] && cons=(-c "$ROOT/constraints.txt")
    log "installing Python dependencies into $VENV"
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        ${cons[@]+"${cons[@]}"} -e '.[dev]')
    echo "$want" >"$stamp"
}

# --- Ports ---------------------------------------------------------------------------

# True if something accepts TCP connections on 127.0.0.1:$1.
port_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Who listens on TCP port $1 (best effort: "name (pid N)"), or empty.
port_owner() {
    local out=""
    if command -v ss >/dev/null 2>&1; then
        out="$(ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*",pid=[0-9]*\).*/\1/p' | head -n1 |
            sed 's/"\([^"]*\)",pid=\([0-9]*\)/\1 (pid \2)/')"
    fi
    if [ -z "$out" ] && command -v lsof >/dev/null 2>&1; then
        out="$(lsof -nP -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | awk 'NR == 2 {print $1 " (pid " $2 ")"}')"
    fi
    printf '%s' "$out"
}

# die with a message naming the port, what holds it, and the variable to change.
port_taken() {
    local port="$1" var="$2" what="$3" owner
    owner="$(port_owner "$port")"
    die "port $port ($var) is taken${owner:+ by $owner}, which is not $what; stop it, or choose another port: export $var=<free port below 32768>"
}

# --- PostgreSQL ----------------------------------------------------------------------

# Run a command as the user that owns the cluster (postgres when we are root).
pg_as() {
    if is_root; then
        is_macos && die "don't run as root on macOS"
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Fallback folder for the cluster when DATA_DIR is unreachable by `postgres`.
pg_fallback_dir() {
    local h
    h="$(printf '%s' "$DATA_DIR" | cksum | cut -d' ' -f1)"
    echo "/var/tmp/taskhub-$h"
}

# Where the cluster lives: $DATA_DIR/postgres, or the fallback when we are
# root and a parent of DATA_DIR (e.g. /root, mode 700) locks out `postgres`.
pg_data_dir() {
    if ! is_root || runuser -u postgres -- test -x "$DATA_DIR" 2>/dev/null; then
        echo "$DATA_DIR/postgres"
    else
        echo "$(pg_fallback_dir)/postgres"
    fi
}

_pg_psql() {
    PGPASSWORD="$PG_PASSWORD" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$@"
}

# initdb once: superuser `taskhub` with a SCRAM password, TCP only.
_pg_init() {
    local pgdata="$1" parent
    parent="$(dirname "$pgdata")"
    if [ -d "$pgdata" ] && [ -n "$(ls -A "$pgdata" 2>/dev/null)" ]; then
        log "removing an unfinished cluster in $pgdata"
        rm -rf "$pgdata"
    fi
    mkdir -p "$parent"
    is_root && chmod 755 "$parent"
    mkdir -p "$pgdata"
    chmod 700 "$pgdata"
    is_root && chown postgres: "$pgdata"
    local pwfile="$parent/.pgpass-init"
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    chmod 600 "$pwfile"
    is_root && chown postgres: "$pwfile"
    log "initdb $pgdata"
    if ! pg_as "$PG_BIN/initdb" -D "$pgdata" -U "$PG_USER" --pwfile="$pwfile" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C >"$parent/initdb.log" 2>&1; then
        rm -f "$pwfile"
        cat "$parent/initdb.log" >&2
        die "initdb failed"
    fi
    rm -f "$pwfile"
    # Our settings live in taskhub.conf, rewritten at every start.
    echo "include_if_exists = 'taskhub.conf'" >>"$pgdata/postgresql.conf"
    touch "$pgdata/.taskhub-initialized"
}

_pg_write_conf() {
    local pgdata="$1"
    cat >"$pgdata/taskhub.conf" <<EOF
# Written by ops/lib.sh at every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
max_locks_per_transaction = 256
EOF
    is_root && chown postgres: "$pgdata/taskhub.conf"
    return 0
}

# Start the project's PostgreSQL (or reuse one already answering on PG_PORT)
# and make sure the `taskhub` database exists.
start_postgres() {
    _resolve_data_dir
    PG_BIN="$(find_pg_bindir)"
    [ -n "$PG_BIN" ] || die "PostgreSQL binaries not found (run ensure_system_packages or set PG_BINDIR)"
    local pgdata
    pgdata="$(pg_data_dir)"

    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        # Ours (or one made for us): we can log in as taskhub. Anything else: say so.
        _pg_psql -d postgres -c 'select 1' >/dev/null 2>&1 ||
            port_taken "$PG_PORT" PG_PORT "this project's PostgreSQL (login as $PG_USER failed)"
        log "PostgreSQL already answers on 127.0.0.1:$PG_PORT: reusing it"
    else
        port_answers "$PG_PORT" && port_taken "$PG_PORT" PG_PORT "a PostgreSQL server"
        [ -f "$pgdata/.taskhub-initialized" ] || _pg_init "$pgdata"
        if pg_as "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
            die "the cluster in $pgdata runs on another port ($(sed -n 4p "$pgdata/postmaster.pid")); run ops/stop first or set PG_PORT"
        fi
        _pg_write_conf "$pgdata"
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT (data: $pgdata)"
        if ! pg_as "$PG_BIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 -s start; then
            tail -n 30 "$pgdata/server.log" >&2 || true
            if grep -q "could not bind\|Address already in use" "$pgdata/server.log" 2>/dev/null; then
                port_taken "$PG_PORT" PG_PORT "this project's PostgreSQL"
            fi
            die "PostgreSQL did not start (log: $pgdata/server.log)"
        fi
    fi

    _pg_psql -d postgres -c 'select 1' >/dev/null 2>&1 ||
        port_taken "$PG_PORT" PG_PORT "this project's PostgreSQL (login as $PG_USER failed)"
    if [ -z "$(_pg_psql -d postgres -tAc "select 1 from pg_database where datname = '$PG_DB'")" ]; then
        log "creating database $PG_DB"
        _pg_psql -d postgres -c "create database $PG_DB"
    fi
}

stop_postgres() {
    _resolve_data_dir
    PG_BIN="$(find_pg_bindir)"
    [ -n "$PG_BIN" ] || return 0
    local d
    for d in "$DATA_DIR/postgres" "$(pg_fallback_dir)/postgres"; do
        if [ -f "$d/postmaster.pid" ] && pg_as "$PG_BIN/pg_ctl" -D "$d" status >/dev/null 2>&1; then
            log "stopping PostgreSQL ($d)"
            pg_as "$PG_BIN/pg_ctl" -D "$d" -m fast -w -s stop || true
        fi
    done
}

# --- Redis -------------------------------------------------------------------------

_redis_ping() {
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

# Pid from DATA_DIR/redis/redis.pid if that process is alive and is redis.
_redis_pid() {
    local pidfile="$DATA_DIR/redis/redis.pid" pid
    [ -f "$pidfile" ] || return 1
    pid="$(cat "$pidfile")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    case "$(ps -p "$pid" -o comm= 2>/dev/null)" in *redis*) echo "$pid" ;; *) return 1 ;; esac
}

# Start the project's Redis (AOF on, fsync every second) or reuse one
# already answering on REDIS_PORT.
start_redis() {
    _resolve_data_dir
    if _redis_ping; then
        log "Redis already answers on 127.0.0.1:$REDIS_PORT: reusing it"
        return 0
    fi
    if _redis_pid >/dev/null; then
        die "the Redis of $DATA_DIR (pid $(_redis_pid)) runs on another port; run ops/stop first or set REDIS_PORT"
    fi
    port_answers "$REDIS_PORT" && port_taken "$REDIS_PORT" REDIS_PORT "a Redis server (no PONG)"
    local dir="$DATA_DIR/redis"
    mkdir -p "$dir"
    log "starting Redis on 127.0.0.1:$REDIS_PORT (data: $dir)"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" \
        --appendonly yes --appendfsync everysec \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 1 50); do
        _redis_ping && return 0
        sleep 0.2
    done
    tail -n 20 "$dir/redis.log" >&2 || true
    if grep -q "Address already in use" "$dir/redis.log" 2>/dev/null; then
        port_taken "$REDIS_PORT" REDIS_PORT "this project's Redis"
    fi
    die "Redis did not answer on 127.0.0.1:$REDIS_PORT (log: $dir/redis.log)"
}

stop_redis() {
    _resolve_data_dir
    local pid
    pid="$(_redis_pid)" || return 0
    log "stopping Redis (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    log "Redis pid $pid did not stop in 15 s"
}

# --- Local secret key ------------------------------------------------------------------

# This checkout's own SECRET_KEY (development only): random, made once, in
# $DATA_DIR/secret_key with mode 600. The settings read it through
# SECRET_KEY_FILE when SECRET_KEY is unset (production requires SECRET_KEY).
ensure_secret_key() {
    _resolve_data_dir
    local f="$DATA_DIR/secret_key"
    if [ ! -s "$f" ]; then
        log "generating a local SECRET_KEY in $f"
        (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(64))' >"$f.tmp.$$") &&
            mv -f "$f.tmp.$$" "$f"
    fi
    chmod 600 "$f"
    SECRET_KEY_FILE="$f"
}

# --- Environment ----------------------------------------------------------------------

# Point the app at the local servers and put the venv first on PATH.
# Mail settings (EMAIL_HOST, EMAIL_PORT, ...) pass through untouched.
export_env() {
    export DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export BASE_DOMAIN PORT
    [ -n "${SECRET_KEY_FILE:-}" ] && export SECRET_KEY_FILE
    export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-platform_core.settings}"
    export VIRTUAL_ENV="$VENV"
    export PATH="$VENV/bin:$PATH"
    export PYTHONUNBUFFERED=1
}

# Everything the run and test commands need, in order.
setup_all() {
    local t0=$SECONDS
    ensure_system_packages
    ensure_venv
    start_postgres
    start_redis
    ensure_secret_key
    export_env
    log "setup done in $((SECONDS - t0)) s"
}
