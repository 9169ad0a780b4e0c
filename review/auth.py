"""Login, logout, roles, and the reviewer accounts admins manage.

Every view except the login page and static files needs a session (:func:`install_guard`);
admin views also need the admin role (:func:`admin_required`). Passwords are stored as
werkzeug's salted scrypt hashes.

A session is valid while the user is active, its password stamp matches the stored hash and its
session version matches ``users.session_version``: logout and a password change raise the version,
so a cookie saved before is worthless afterwards. Login attempts are throttled by Flask-Limiter
per client address (every attempt) and per account and address (failed attempts only), so a
guesser is slowed down while the account's owner, from another address, still gets in.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from db.models import Role, User
from db.users import add_user, bump_session_version, list_users, user_by_email
from review.state import db

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

MIN_PASSWORD_LENGTH = 8
PUBLIC_ENDPOINTS = {"auth.login", "static"}
# Every login attempt from one client address, whatever the e-mail (a guesser trying many accounts).
LOGIN_LIMIT_PER_ADDRESS = "20 per minute;200 per hour"
# Failed attempts for one account from one address: the guesser's address is slowed down, the
# account is not locked (its owner logs in from another address as usual).
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 10 minutes"
MAX_EMAIL_LENGTH = 320
# Compared against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


# --- accounts (used by the admin page and by `copywatch user`) -----------------------------------


def create_user(session: Session, email: str, password: str, role: Role | str = Role.REVIEWER) -> int:
    """Add a reviewer account; returns its id.

    Raises:
        ValueError: for an invalid e-mail, a password shorter than 8 characters, an unknown
            role, or an e-mail that already has an account.
    """
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise ValueError(f"not an e-mail address: {email!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    try:
        role = Role(role)
    except ValueError:
        raise ValueError(f"role must be one of {', '.join(r.value for r in Role)}, got {role!r}") from None
    user = User(email=email, password_hash=generate_password_hash(password), role=role, active=True)
    try:
        return add_user(session, user)
    except IntegrityError:
        session.rollback()
        raise ValueError(f"{email} already has an account") from None


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None."""
    user = user_by_email(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password and end every session they have (the caller commits).

    Raises:
        ValueError: a password shorter than 8 characters.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)
    end_sessions(session, user.id)


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of one user: the stored session version moves on (the caller commits)."""
    bump_session_version(session, user_id)


# --- guards ------------------------------------------------------------------------------------------


def _password_stamp(user: User) -> str:
    """A fingerprint of the password hash kept in the session: a new password ends old sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path of this app, else the queue (never an open redirect, never a 500).

    Refused: anything with a scheme or a host, a second leading slash (``//host``), backslashes
    (browsers read them as slashes), and any control, format or whitespace character (browsers
    drop tabs and newlines, so ``/\t/evil.com`` would become ``//evil.com``).
    """
    fallback = url_for("queue.index")
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(c.isspace() or unicodedata.category(c)[0] in {"C", "Z"} for c in target):
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:
        return fallback
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _login_account_and_address() -> str:
    email = request.form.get("email", "").strip().lower()[:MAX_EMAIL_LENGTH]
    return f"{email}|{get_remote_address()}"


def _failed_login(response: Response) -> bool:
    return response.status_code == 401


def install_guard(app: Flask) -> None:
    """Redirect every request without a valid session to the login page; throttle logins."""
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri="memory://",  # per web process; entries expire with their window
        strategy="moving-window",
        headers_enabled=False,
    )
    app.extensions["copywatch_login_limiter"] = limiter
    view: Any = app.view_functions["auth.login"]
    view = limiter.limit(
        LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
        key_func=_login_account_and_address,
        methods=["POST"],
        deduct_when=_failed_login,
        error_message="Too many failed logins for this account from your address. Try again in a few minutes.",
    )(view)
    view = limiter.limit(
        LOGIN_LIMIT_PER_ADDRESS,
        methods=["POST"],
        error_message="Too many login attempts from your address. Try again in a few minutes.",
    )(view)
    app.view_functions["auth.login"] = view

    @app.errorhandler(429)
    def _too_many_logins(exc: Any) -> Any:
        message = getattr(exc, "description", None) or "Too many login attempts. Try again in a few minutes."
        if request.endpoint == "auth.login":
            return render_template("login.html", error=message), 429
        return {"error": message}, 429

    @app.before_request
    def _require_login() -> Any:
        g.user = None
        if request.endpoint == "static":
            return None  # stylesheets and scripts need no database round trip
        user_id = session.get("user_id")
        if user_id is not None:
            user = db().get(User, user_id) if isinstance(user_id, int) else None
            if (
                user is not None
                and user.active
                and session.get("pw") == _password_stamp(user)
                and session.get("sv") == user.session_version
            ):
                g.user = user
            else:
                session.clear()
        if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
            if request.path.startswith("/api/"):
                return {"error": "not logged in"}, 401
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return None

    @app.context_processor
    def _current_user() -> dict[str, Any]:
        return {"current_user": g.get("user")}


def admin_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None or g.user.role != Role.ADMIN:
            abort(403, "This needs an administrator account.")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def login_required(view: F) -> F:
    """Explicit marker for views; the app-wide guard already enforces it."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# --- views ---------------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()[:MAX_EMAIL_LENGTH]
        user = authenticate(db(), email, request.form.get("password", ""))
        if user is None:
            error = "Wrong e-mail or password."
        else:
            # A fresh session on login, so a session planted before login is worthless.
            session.clear()
            session["user_id"] = user.id
            session["pw"] = _password_stamp(user)
            session["sv"] = user.session_version
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    elif g.get("user") is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if g.get("user") is not None:
        # Server-side: the cookie just cleared, or any copy of it, no longer opens a session.
        s = db()
        end_sessions(s, g.user.id)
        s.commit()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_required
def users() -> Any:
    s = db()
    if request.method == "POST":
        action = request.form.get("action", "add")
        if action == "add":
            try:
                create_user(
                    s,
                    request.form.get("email", ""),
                    request.form.get("password", ""),
                    request.form.get("role", Role.REVIEWER.value),
                )
                s.commit()
                flash("Account created.", "ok")
            except ValueError as exc:
                s.rollback()
                flash(str(exc), "error")
        elif action in {"deactivate", "activate"}:
            raw_id = request.form.get("user_id", "").strip()
            valid_id = raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10 and int(raw_id) < 2**31
            user = s.get(User, int(raw_id)) if valid_id else None
            if user is None:
                abort(404)
            if user.id == g.user.id:
                flash("You cannot deactivate your own account.", "error")
            else:
                user.active = action == "activate"
                s.commit()
                flash(f"{user.email} {'activated' if user.active else 'deactivated'}.", "ok")
        else:
            abort(400, "unknown action")
        return redirect(url_for("auth.users"))
    accounts = list_users(s)
    return render_template("users.html", accounts=accounts, roles=[r.value for r in Role])
