#!/usr/bin/env bash
# Install EverShop (npm) into bench/engines/.installed/, set it up with its own installer
# (`evershop install`: its settings from the environment, the one question it always asks, the
# database host, answered through a pseudo-terminal), build its storefront (`evershop build`),
# load the benchmark catalogue with its catalog services (load.mjs) and serve its default theme
# on 127.0.0.1:PORT (foreground). Needs Node 20+ and a PostgreSQL server (>= 13) that lets
# $PGUSER (postgres) in from 127.0.0.1; the shop's database is created anew on each load.
# Usage: bench/engines/evershop/run.sh PORT
#
# EverShop 2.2.1 imports two packages it does not install: concat-stream (its CMS upload
# storage) and @paypal/paypal-js (a dev dependency its storefront build needs), so both are
# installed beside it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.installed"
app="$root/evershop-app"
state="$root/evershop-state"
port="${1:-8405}"
db="${EVERSHOP_DB:-copywatch_bench_evershop}"
pghost="${PGHOST:-127.0.0.1}" pguser="${PGUSER:-postgres}"
mkdir -p "$app"
cd "$app"
if [ ! -d node_modules/@evershop/evershop ]; then
  cat > package.json <<'JSON'
{"name": "copywatch-bench-evershop", "private": true, "type": "module"}
JSON
  npm install --no-audit --no-fund --loglevel=error \
    "@evershop/evershop@2.2.1" "concat-stream@2.0.0" "@paypal/paypal-js@8.4.2"
fi
if [ ! -f "$state/loaded" ]; then
  rm -rf "$state" .env media public .evershop
  mkdir -p "$state"
  psql -h "$pghost" -U "$pguser" -d postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  # Everything but the host comes from the environment; the password is any (trust) or $PGPASSWORD.
  (sleep 10; printf '%s\r' "$pghost") | env DB_PORT="${PGPORT:-5432}" DB_NAME="$db" DB_USER="$pguser" \
    DB_PASSWORD="${PGPASSWORD:-bench}" ADMIN_FULLNAME="Bench Admin" ADMIN_EMAIL="admin@example.com" \
    ADMIN_PASSWORD="bench12345" script -qec "npx evershop install" /dev/null > "$state/install.log"
  grep -q "Installation completed" "$state/install.log" || { cat "$state/install.log"; exit 1; }
  npx evershop build > "$state/build.log" 2>&1 || { tail -50 "$state/build.log"; exit 1; }
  "${CATALOG_PYTHON:-python3}" "$here/../catalog.py" "$state"  # any Python with Pillow
  node "$here/load.mjs" "$state"
  touch "$state/loaded"
fi
# Its pages, sitemaps and og:url print absolute links to its configured home URL: the address it
# is crawled at (`copywatch bench crawl-engines` passes its proxy's), else 127.0.0.1:PORT. Its
# sitemap files are a cache written on first request with the home URL of that day: cleared.
rm -f public/sitemap*.xml
PORT="$port" EVERSHOP_HOME_URL="${ENGINE_PUBLIC_URL:-http://127.0.0.1:$port}" exec npx evershop start
