#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis the test suite uses, when installed but not running.
set -euo pipefail

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  fi
fi
if command -v redis-server >/dev/null 2>&1; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  fi
fi
for _ in $(seq 1 30); do
  pg_ok=0; redis_ok=0
  pg_isready -h 127.0.0.1 -p 5432 -q && pg_ok=1
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && redis_ok=1
  [ "$pg_ok" = 1 ] && [ "$redis_ok" = 1 ] && exit 0
  sleep 1
done
echo "PostgreSQL or Redis on 127.0.0.1 did not come up" >&2
exit 1
