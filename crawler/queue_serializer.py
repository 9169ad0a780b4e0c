"""JSON for the distributed crawl's request queue in Redis (scrapy-redis's ``SCHEDULER_SERIALIZER``).

scrapy-redis pickles requests by default, and unpickling runs whatever code the bytes name: anyone
who can write to Redis would run code in every crawler. This module turns the dict of
``Request.to_dict()`` into JSON and back, and nothing else: bytes (bodies, headers) are tagged
base64 strings, dicts with bytes keys (headers) are tagged pairs, and a request class other than
Scrapy's own request types is refused. A value that is not JSON-able fails ``dumps`` loudly.
"""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "__b64__"
_PAIRS = "__pairs__"
# The request classes a queued request may name (Request.to_dict() writes "_class" for subclasses).
ALLOWED_REQUEST_CLASSES = frozenset(
    {
        "scrapy.http.request.Request",
        "scrapy.http.Request",
        "scrapy.Request",
        "scrapy.http.request.form.FormRequest",
        "scrapy.http.request.json_request.JsonRequest",
    }
)


class UnsafeRequestError(ValueError):
    """A queued entry that is not a request this module wrote."""


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and _BYTES not in value and _PAIRS not in value:
            return {k: _encode(v) for k, v in value.items()}
        return {_PAIRS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot queue a request holding a {type(value).__name__} (JSON queue)")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_BYTES}:
            return base64.b64decode(value[_BYTES], validate=True)
        if set(value) == {_PAIRS}:
            return {_hashable(_decode(k)): _decode(v) for k, v in value[_PAIRS]}
        return {k: _decode(v) for k, v in value.items()}
    return value


def _hashable(key: Any) -> Any:
    if isinstance(key, list | dict):
        raise UnsafeRequestError("a queued dict key must be a string, bytes or a number")
    return key


def dumps(request_dict: dict[str, Any]) -> bytes:
    """The request (as ``Request.to_dict()`` gives it) as JSON bytes."""
    return json.dumps(_encode(request_dict), separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict back from ``dumps``'s bytes.

    Raises:
        UnsafeRequestError: not JSON (a pickle, say), not a request dict, or a class that is not
            one of Scrapy's request types.
    """
    try:
        decoded = _decode(json.loads(data))
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, UnsafeRequestError):
            raise
        raise UnsafeRequestError(f"a queued request that is not this queue's JSON: {exc}") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("url"), str):
        raise UnsafeRequestError("a queued entry that is not a request")
    cls = decoded.get("_class")
    if cls is not None and cls not in ALLOWED_REQUEST_CLASSES:
        raise UnsafeRequestError(f"a queued request of class {cls!r}, which is not a Scrapy request type")
    for name in ("callback", "errback"):
        if decoded.get(name) is not None and not isinstance(decoded[name], str):
            raise UnsafeRequestError(f"a queued request whose {name} is not a method name")
    return decoded
