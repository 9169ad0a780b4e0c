#!/usr/bin/env bash
# Install django-oscar (PyPI) into bench/engines/.installed/, load the benchmark catalogue with
# Oscar's own import commands, and serve its default storefront on 127.0.0.1:PORT (foreground).
# Usage: bench/engines/oscar/run.sh PORT
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.installed"
venv="$root/oscar-venv"
state="$root/oscar-state"
port="${1:-8401}"
mkdir -p "$root"
if [ ! -x "$venv/bin/django-admin" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "django-oscar==4.2.1" "sorl-thumbnail>=12.10" "Whoosh==2.7.4"
fi
export OSCAR_STATE_DIR="$state" DJANGO_SETTINGS_MODULE=settings PYTHONPATH="$here"
if [ ! -f "$state/loaded" ]; then
  rm -rf "$state"; mkdir -p "$state"
  "$venv/bin/python" "$here/../catalog.py" "$state"
  "$venv/bin/django-admin" migrate -v0
  "$venv/bin/python" -c "import django; django.setup(); import runpy, sys; sys.argv=['load.py', '$state']; runpy.run_path('$here/load.py')"
  "$venv/bin/django-admin" update_index -v0
  touch "$state/loaded"
fi
exec "$venv/bin/django-admin" runserver "127.0.0.1:$port" --noreload --insecure
