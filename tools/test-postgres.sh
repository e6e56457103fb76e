#!/usr/bin/env bash
# Sourced by tools/test.sh: starts a throwaway PostgreSQL cluster on 127.0.0.1 for the
# PG-wire tests (password auth, a free port, data in a temp dir), exports
# BACKTEST_TEST_PG, and registers its stop on exit. As root, the cluster runs as the
# `postgres` user (PostgreSQL refuses to run as root).
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "test.sh: PostgreSQL binaries not found (install postgresql); PG-wire tests will be skipped" >&2
  return 0
fi
pg_dir=$(mktemp -d /tmp/backtest-pg.XXXXXX)
pg_user=backtest
pg_password="pw-$RANDOM-$RANDOM"
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$pg_dir"
  as_owner=(runuser -u postgres --)
fi
printf '%s\n' "$pg_password" > "$pg_dir/pwfile"
chmod 600 "$pg_dir/pwfile"
[ "$(id -u)" = 0 ] && chown postgres: "$pg_dir/pwfile"
"${as_owner[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U "$pg_user" --pwfile="$pg_dir/pwfile" \
  --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --no-locale >"$pg_dir/initdb.log" 2>&1 \
  || { cat "$pg_dir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off" start >/dev/null \
  || { cat "$pg_dir/server.log" >&2; exit 1; }
stop_postgres() {
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
export BACKTEST_TEST_PG="postgresql://$pg_user:$pg_password@127.0.0.1:$pg_port/postgres"
echo "test.sh: PostgreSQL $("$pg_bin/postgres" -V | awk '{print $3}') on 127.0.0.1:$pg_port for the PG-wire tests"
