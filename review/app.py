"""Application factory: settings in, a Flask app with its blueprints, CSRF and security headers out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from copywatch.links import http_url
from copywatch.settings import Settings, secret_key_problem
from review.state import ReviewState

# Multipart framing around an upload; the image itself is checked against max_image_bytes.
_MULTIPART_SLACK = 64 * 1024

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: shows the reviewer's own upload next to its matches without sending it back.
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Row ids are 32-bit integers on PostgreSQL: a larger id in a URL is a missing page, not a database error.
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in routes: a non-negative integer no larger than a row id can be."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def create_app(settings: Settings, *, matcher_loader: Callable[[], Any] | None = None) -> Flask:
    """Build the review app.

    Args:
        settings: the one settings object; ``secret_key`` must be set (``copywatch serve --dev``
            generates one in memory).
        matcher_loader: returns the search page's ``detection.matcher.Matcher``; by default the
            catalog index under ``settings.index_dir`` is loaded on first use (and reloaded
            when its version on disk changes).

    Returns:
        The Flask app.

    Raises:
        ValueError: when ``settings.secret_key`` is empty, shorter than 32 characters, not random
            or the example's placeholder (``copywatch.settings.secret_key_problem``).
    """
    problem = secret_key_problem(settings.secret_key)
    if problem:
        raise ValueError(problem)
    app = Flask(__name__)
    app.url_map.converters["int"] = RowIdConverter
    if settings.proxy_hops:
        # Behind a reverse proxy: the client's address (the login throttle's key) and scheme come
        # from the last PROXY_HOPS proxies' X-Forwarded-For/-Proto; without it they are the peer's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)  # type: ignore[method-assign]
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_image_bytes + _MULTIPART_SLACK,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        SESSION_COOKIE_NAME="copywatch_session",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["copywatch"] = ReviewState(settings, matcher_loader)
    CSRFProtect(app)
    app.add_template_filter(http_url, "http_url")

    from review import auth, media, queue, reports, search, sellers

    for module in (auth, queue, search, reports, media, sellers):
        app.register_blueprint(module.bp)
    auth.install_guard(app)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Listing links lead to marketplaces; they need not learn which detection we were looking at.
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if response.mimetype in {"text/html", "application/json", "text/csv"}:
            headers.setdefault("Cache-Control", "no-store")
        return response

    def _wants_json() -> bool:
        return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        message = "The request was refused: its security token is missing or expired. Reload the page and try again."
        if _wants_json():
            return jsonify(error=message), 400
        return render_template("error.html", title="Request refused", message=message), 400

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge) -> Any:
        limit_mb = settings.max_image_bytes / (1024 * 1024)
        message = f"The upload is too large: images may be at most {limit_mb:.0f} MB."
        if _wants_json():
            return jsonify(error=message), 413
        return render_template("error.html", title="Upload too large", message=message), 413

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if _wants_json():
            return jsonify(error=exc.description), exc.code
        return render_template("error.html", title=exc.name, message=exc.description), exc.code

    return app
