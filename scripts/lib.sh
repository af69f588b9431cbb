# Shared steps of scripts/run, scripts/test and bench/run (sourced, not run).

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# CARNET_VENV reuses an existing virtualenv (the first-run test points a fresh clone at the suite's own).
VENV="${CARNET_VENV:-$PROJECT_ROOT/.venv}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

apt_install() {
  # Debian packages, installed only when missing (needs root, as in CI).
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${missing[*]} (install them as root)" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {
  # Create .venv and install the given requirements file when it changed.
  local requirements="$1"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  local stamp="$VENV/.installed-$(basename "$requirements")"
  local digest
  digest="$(cat "$PROJECT_ROOT"/requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$PROJECT_ROOT/$requirements"
    echo "$digest" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

AXE_DIR="$PROJECT_ROOT/.venv/axe-core"

ensure_axe() {
  # axe-core (npm) for the accessibility checks of the browser tests, installed only when missing.
  [ -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] && return 0
  npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" axe-core@4 >/dev/null
}

compile_translations() {
  python "$PROJECT_ROOT/scripts/i18n.py" compile
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  # A throwaway PostgreSQL cluster on a free loopback port; sets PG_URL.
  [ -x "$PG_BIN/initdb" ] || apt_install postgresql
  PG_DIR="$(mktemp -d /tmp/carnet-pg.XXXXXX)"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
  local user; user="$( [ "$(id -u)" -eq 0 ] && echo postgres || id -un )"
  PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$user" -A trust -E UTF8 --locale=C >/dev/null
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start -o \
    "-k $PG_DIR -c listen_addresses=127.0.0.1 -p $PG_PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$user" carnet
  PG_URL="postgresql+psycopg://$user@127.0.0.1:$PG_PORT/carnet"
  export PG_DIR PG_URL
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}

start_redis() {
  # A throwaway Redis (shared rate limits of several web nodes) on a free loopback port; sets REDIS_URL.
  command -v redis-server >/dev/null || apt_install redis-server  # Debian's package starts no service here
  REDIS_DIR="$(mktemp -d /tmp/carnet-redis.XXXXXX)"
  REDIS_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save "" --appendonly no \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
  local tries=0
  until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
      echo "Redis did not start on port $REDIS_PORT" >&2
      cat "$REDIS_DIR/redis.log" >&2
      return 1
    fi
    sleep 0.1
  done
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  export REDIS_DIR REDIS_URL
}

stop_redis() {
  [ -n "${REDIS_DIR:-}" ] || return 0
  local pid; pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    local tries=0
    while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 50 ]; do tries=$((tries + 1)); sleep 0.1; done
  fi
  rm -rf "$REDIS_DIR"
  REDIS_DIR=""
}
