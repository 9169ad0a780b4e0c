#!/usr/bin/env bash
# Install Shuup (PyPI) into bench/engines/.installed/, load the benchmark catalogue through its
# media library and its own product importer (load.py), and serve its default storefront
# (the Classic Gray theme that `shuup_init` activates) on 127.0.0.1:PORT (foreground).
# Usage: bench/engines/shuup/run.sh PORT
#
# Shuup 3.1.0 supports Python up to 3.9 (its pinned Babel 2.5.3 imports collections.MutableMapping,
# gone in 3.10), so it runs on python3.9. Two of its pins are overridden by a newer release of the
# same dependency: django-enumfields 2.1.1 (2.0.0 breaks on Python 3.9.18's enum) and MarkupSafe
# 2.0.1 (its Jinja2 2.8.1 imports soft_unicode, gone in MarkupSafe 2.1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.installed"
venv="$root/shuup-venv"
state="$root/shuup-state"
port="${1:-8403}"
# A Python of 3.9 or older: $SHUUP_PYTHON, python3.9 or python3.8 on the PATH, else pyenv's.
find_python() {
  local candidate version
  for candidate in ${SHUUP_PYTHON:-} python3.9 python3.8; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] > (3, 9))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  if command -v pyenv >/dev/null; then
    for version in $(pyenv versions --bare | grep -E '^3\.(9|8)\.[0-9]+$' | sort -rV); do
      echo "$(pyenv root)/versions/$version/bin/python"; return
    done
  fi
  echo "shuup/run.sh: Shuup 3.1.0 needs Python 3.9 or older (set SHUUP_PYTHON)" >&2; return 1
}
mkdir -p "$root"
if [ ! -x "$venv/bin/django-admin" ]; then
  python="$(find_python)"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q "shuup==3.1.0"
  "$venv/bin/pip" install -q --no-deps "django-enumfields==2.1.1" "markupsafe==2.0.1"
fi
export SHUUP_WORKBENCH_BASE_DIR="$state/wb" DJANGO_SETTINGS_MODULE=shuup_workbench.settings
workbench() { "$venv/bin/python" -m shuup_workbench "$@"; }
if [ ! -f "$state/loaded" ]; then
  rm -rf "$state"; mkdir -p "$state/wb"
  "$venv/bin/python" "$here/../catalog.py" "$state"
  workbench migrate -v0
  workbench shuup_init
  workbench shell -c "import runpy, sys; sys.argv = ['load.py', '$state']; runpy.run_path('$here/load.py', run_name='__main__')"
  touch "$state/loaded"
fi
exec "$venv/bin/python" -m shuup_workbench runserver "127.0.0.1:$port" --noreload --insecure
