"""Which failures mean "try again later" rather than "this item cannot be done"."""

from __future__ import annotations

import kombu.exceptions
import redis.exceptions
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means "try again later" rather than "this image cannot be scored"."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT_ERRORS)
