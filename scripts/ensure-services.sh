#!/usr/bin/env bash
# Start the local Postgres and Redis if they are down (the machine's own services; never a private test instance).
# Set AMSS_EXTERNAL_SERVICES=1 where something else provides them (CI service containers).
set -euo pipefail
[ "${AMSS_EXTERNAL_SERVICES:-0}" = "1" ] && exit 0

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "ensure-services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
for _ in $(seq 1 60); do
  if pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "ensure-services: Postgres or Redis did not come up on 127.0.0.1" >&2
exit 1
