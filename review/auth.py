"""Login, logout, roles, and the reviewer accounts admins manage.

Every view except the login page and static files needs a session (:func:`install_guard`);
admin views also need the admin role (:func:`admin_required`). Passwords are stored as
werkzeug's salted scrypt hashes.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from db.models import Role, User
from db.users import list_users, user_by_email
from review.state import db

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

MIN_PASSWORD_LENGTH = 8
PUBLIC_ENDPOINTS = {"auth.login", "static"}
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
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValueError(f"{email} already has an account") from None
    return user.id


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None."""
    user = user_by_email(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


class LoginThrottle:
    """Refuse logins for an e-mail after too many recent failures (slows password guessing).

    In memory, per process: enough for one web process; it resets on restart.
    """

    def __init__(self, max_failures: int = 5, window_s: float = 600.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] < now - self.window_s:
            failures.popleft()
        return failures

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            self._recent(key, time.monotonic()).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


# --- guards ------------------------------------------------------------------------------------------


def _password_stamp(user: User) -> str:
    """A fingerprint of the password hash kept in the session: a new password ends old sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or protocol-relative URL (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("queue.index")


def install_guard(app: Flask) -> None:
    """Redirect every request without a valid session to the login page."""
    app.extensions["copywatch_login_throttle"] = LoginThrottle()

    @app.before_request
    def _require_login() -> Any:
        g.user = None
        if request.endpoint == "static":
            return None  # stylesheets and scripts need no database round trip
        user_id = session.get("user_id")
        if user_id is not None:
            user = db().get(User, user_id)
            if user is not None and user.active and session.get("pw") == _password_stamp(user):
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
        email = request.form.get("email", "").strip().lower()
        throttle: LoginThrottle = current_app.extensions["copywatch_login_throttle"]
        if throttle.blocked(email):
            return render_template(
                "login.html", error="Too many failed logins for this account. Try again in a few minutes."
            ), 429
        user = authenticate(db(), email, request.form.get("password", ""))
        if user is None:
            throttle.failed(email)
            error = "Wrong e-mail or password."
        else:
            throttle.succeeded(email)
            # A fresh session on login, so a session planted before login is worthless.
            session.clear()
            session["user_id"] = user.id
            session["pw"] = _password_stamp(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    elif g.get("user") is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
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
            user = s.get(User, request.form.get("user_id", type=int) or 0)
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
