#!/usr/bin/env bash
# Start the local Redis and PostgreSQL the tests use, if they are down (never stops anything).
# The start commands are this machine kind's own (see the env notes in the README).
set -euo pipefail

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q >/dev/null 2>&1; }

if ! redis_up; then
  echo "services: starting Redis on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! pg_up; then
  echo "services: starting PostgreSQL on 127.0.0.1:5432"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
for _ in $(seq 1 50); do
  if redis_up && pg_up; then echo "services: Redis and PostgreSQL are up"; exit 0; fi
  sleep 0.2
done
echo "services: Redis or PostgreSQL did not come up" >&2
exit 1
