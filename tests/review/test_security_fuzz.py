"""A bounded, deterministic fuzz of every route of the review app: malformed query strings, forms
and JSON bodies (huge numbers, lists for objects, control characters, very long strings) must
never answer 500.

The generator is seeded, so a failure names a case that reproduces; the number of cases per
route is fixed (``CASES_PER_ROUTE``), so the test's cost is too.
"""

from __future__ import annotations

import io
import json
import random
import re
from typing import Any
from urllib.parse import quote, urlencode

import cv2
from flask import Flask
from werkzeug.datastructures import MultiDict

from tests.review.conftest import PASSWORD, Seeded, synthetic_original

SEED = 25
CASES_PER_ROUTE = 40

PARAM_NAMES = [
    "brand", "marketplace", "status", "min", "max", "since", "until", "after", "q", "next", "size",
    "action", "note", "ids", "email", "password", "role", "user_id", "image", "csrf_token", "x",
]  # fmt: skip

BAD_VALUES = [
    "9" * 30,
    str(2**63),
    str(2**31),
    "-1",
    "0",
    "1e999",
    "-1e999",
    "nan",
    "inf",
    "²",
    "١٢",
    "0x10",
    "1_000",
    " 7 ",
    "",
    "\x00",
    "\t\n\r",
    "\x7f\x1b[31m",
    "\u2028\u202e",
    "A" * 10_000,
    "𝔘𝔫𝔦" * 100,
    "[]",
    "{}",
    "null",
    "'; DROP TABLE detections; --",
    "../../../../etc/passwd",
    "/%09/evil.com",
    "//evil.com",
    "javascript:alert(1)",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "0.5:" + "9" * 30,
    "nan:1",
    "1:1:1",
    "confirm",
    "dismiss",
    "reopen",
    "admin",
    "all",
    "thumb",
    "brand=1&status=all",
    "%ff%fe",
]

JSON_BODIES: list[Any] = [
    [],
    ["confirm"],
    "confirm",
    10**400,
    -(10**30),
    1e308,
    None,
    True,
    {"action": ["confirm"]},
    {"action": {"$ne": 1}},
    {"action": "confirm", "note": [1, 2]},
    {"action": "confirm", "note": "n" * 100_000},
    {"action": "\x00confirm"},
    {"action": "dismiss", "note": None},
    {"note": {"deep": [[[[[[[[]]]]]]]]}},
]
RAW_JSON = [
    b"[" * 50_000 + b"]" * 50_000,  # nesting past the parser's recursion limit
    b'{"action": "confirm"',
    b"\xff\xfe\x00",
    b'{"action": NaN}',
    b"1" * 5000,
]


def _value(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(BAD_VALUES)
    length = rng.choice([1, 5, 40, 3000])
    return "".join(
        chr(rng.choice([rng.randrange(0, 32), rng.randrange(32, 127), rng.randrange(0x80, 0x3000)]))
        for _ in range(length)
    )


def _pairs(rng: random.Random) -> list[tuple[str, str]]:
    names = PARAM_NAMES + ["".join(rng.choice("abcxyz_[].") for _ in range(rng.randint(1, 8)))]
    return [(rng.choice(names), _value(rng)) for _ in range(rng.randint(1, 5))]


def _query_string(rng: random.Random) -> str:
    query = urlencode(_pairs(rng))
    if rng.random() < 0.3:
        query += rng.choice(
            [
                "&&=&",
                "&%zz=%",
                "&brand",
                "&=1",
                "&" + "a=1&" * 500,
                "&q=" + quote("status=all&brand=" + "9" * 30),
            ]
        )
    return query


def _path(rule: str, rng: random.Random, ids: list[int]) -> str:
    def pick(_match: re.Match[str]) -> str:
        return str(rng.choice([ids[0], ids[-1], 0, 2**31 - 1, 2**31, 10**30]))

    path = re.sub(r"<int:[a-z_]+>", pick, rule)
    return re.sub(r"<[a-z_]+>", lambda _m: quote(_value(rng), safe=""), path)


def _image(rng: random.Random) -> bytes:
    ok, png = cv2.imencode(".png", synthetic_original(rng.randrange(3)))
    data = png.tobytes()
    return rng.choice(
        [
            data,
            data[: len(data) // 3],
            b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(200)),
            b"GIF89a",
            b"",
        ]
    )


_logins = iter(range(1, 1_000_000))


def _log_in(client: Any, seeded: Seeded) -> None:
    n = next(_logins)
    address = {"REMOTE_ADDR": f"192.168.{n // 250 % 250}.{n % 250 + 1}"}
    response = client.post(
        "/login", data={"email": seeded.admin_email, "password": PASSWORD}, environ_overrides=address
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert client.get("/queue").status_code == 200


def test_no_route_answers_500_to_malformed_input(app: Flask, seeded: Seeded) -> None:
    app.config["WTF_CSRF_ENABLED"] = False  # the fuzz reaches the views; CSRF has its own tests
    client = app.test_client()
    rng = random.Random(SEED)
    _log_in(client, seeded)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    failures: list[str] = []
    requests = 0
    for rule in sorted(rules, key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for case in range(CASES_PER_ROUTE):
                url = _path(rule.rule, rng, seeded.detection_ids) + "?" + _query_string(rng)
                kwargs: dict[str, Any] = {
                    "method": method,
                    # A fresh client address each time: the login throttle is not what is fuzzed here.
                    "environ_overrides": {
                        "REMOTE_ADDR": f"10.{case}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                    },
                }
                if method == "POST":
                    shape = case % 4
                    if shape == 0:
                        kwargs["data"] = MultiDict(_pairs(rng))
                    elif shape == 1:
                        body = rng.choice(JSON_BODIES)
                        kwargs["data"] = json.dumps(body) if not isinstance(body, bytes) else body
                        kwargs["content_type"] = "application/json"
                    elif shape == 2:
                        kwargs["data"] = rng.choice(RAW_JSON)
                        kwargs["content_type"] = "application/json"
                    else:
                        form: dict[str, Any] = dict(_pairs(rng))
                        form["image"] = (
                            io.BytesIO(_image(rng)),
                            rng.choice(["a.png", "../../x.png", "\x00.gif", "é" * 300]),
                        )
                        kwargs["data"] = form
                        kwargs["content_type"] = "multipart/form-data"
                response = client.open(url, **kwargs)
                requests += 1
                if response.status_code >= 500 and response.status_code != 503:
                    failures.append(f"{method} {url[:160]!r} case {case}: {response.status_code}")
                if rule.endpoint == "auth.logout" or client.get("/queue").status_code != 200:
                    _log_in(client, seeded)
    assert requests >= len(rules) * CASES_PER_ROUTE
    assert not failures, "\n".join(failures[:20])
