#!/usr/bin/env bash
# Install Mezzanine + Cartridge (PyPI) into bench/engines/.installed/, create a shop from
# Mezzanine's own project template (`mezzanine-project -a cartridge`, default theme), load the
# benchmark catalogue with Django's `loaddata` (the way Cartridge loads its own demo products),
# and serve the storefront on 127.0.0.1:PORT (foreground).
# Usage: bench/engines/cartridge/run.sh PORT
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.installed"
venv="$root/cartridge-venv"
state="$root/cartridge-state"
port="${1:-8402}"
mkdir -p "$root"
if [ ! -x "$venv/bin/mezzanine-project" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "cartridge==1.3.4"
fi
# Cartridge formats money with the system's locale; build en_US.UTF-8 into the state folder.
export LOCPATH="$state/locale"
if [ ! -f "$state/loaded" ]; then
  rm -rf "$state"; mkdir -p "$state/locale"
  localedef -i en_US -f UTF-8 "$LOCPATH/en_US.UTF-8"
  (cd "$state" && "$venv/bin/mezzanine-project" -a cartridge shop)
  cat >> "$state/shop/shop/local_settings.py" <<'PY'
SHOP_CURRENCY_LOCALE = "en_US.UTF-8"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEBUG = False  # Mezzanine's DEBUG robots.txt disallows everything
PY
  cat >> "$state/shop/shop/urls.py" <<'PY'

# Uploaded product photos, served by Django for the benchmark (a deployment's web server does this).
from django.urls import re_path  # noqa: E402
from django.views.static import serve  # noqa: E402

urlpatterns.insert(0, re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
PY
  "$venv/bin/python" "$here/../catalog.py" "$state"
  (cd "$state/shop" && "$venv/bin/python" manage.py createdb --noinput --nodata -v0)
  "$venv/bin/python" "$here/fixture.py" "$state" > "$state/catalogue-fixture.json"
  (cd "$state/shop" && "$venv/bin/python" manage.py loaddata "$state/catalogue-fixture.json" -v0)
  touch "$state/loaded"
fi
cd "$state/shop"
exec "$venv/bin/python" manage.py runserver "127.0.0.1:$port" --noreload
