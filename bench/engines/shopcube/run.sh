#!/usr/bin/env bash
# Install ShopCube (PyPI, a Flask shop on the Shopyo framework) into bench/engines/.installed/,
# create a shop with its own `shopcube create` and `initialise`, load the benchmark catalogue
# through its admin (load.py), and serve its default storefront on 127.0.0.1:PORT (foreground).
# Usage: bench/engines/shopcube/run.sh PORT
#
# shopcube 5.1.0's wheel ships no `shopcube` package (its CLI fails with "No module named
# 'shopcube'"), so 5.0.0 is installed. Its `initialise` migrates the database but skips every
# module's seed data ("No module named 'modules.box__default'" as it imports them), so the same
# seeding (`shopyo.api.cmd_helper._upload_data`: settings, the admin user) is run in the app.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.installed"
venv="$root/shopcube-venv"
state="$root/shopcube-state"
port="${1:-8404}"
mkdir -p "$root"
if [ ! -x "$venv/bin/shopcube" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "shopcube==5.0.0"
fi
export SHOPCUBE_DATA_DIR="$state" SHOPCUBE_CONFIG=development SECRET_KEY=copywatch-bench-engine
export FLASK_APP=app.py PATH="$venv/bin:$PATH" PYTHONPATH="$state/app"
if [ ! -f "$state/loaded" ]; then
  rm -rf "$state"; mkdir -p "$state"
  "$venv/bin/shopcube" create "$state/app" >/dev/null
  (cd "$state/app" && "$venv/bin/python" manage.py initialise >/dev/null)
  (cd "$state/app" && "$venv/bin/python" -c "
from app import create_app
from shopyo.api.cmd_helper import _upload_data
with create_app('development').app_context():
    _upload_data()
" >/dev/null)
  "$venv/bin/python" "$here/../catalog.py" "$state"
  (cd "$state/app" && "$venv/bin/python" "$here/load.py" "$state")
  touch "$state/loaded"
fi
cd "$state/app"
exec "$venv/bin/flask" run --host 127.0.0.1 --port "$port"
