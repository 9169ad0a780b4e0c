"""The search page's default matcher: the catalog index on disk, loaded on first use, reloaded when it changes."""

from __future__ import annotations

import io
from pathlib import Path

import cv2

from copywatch import catalog_store
from copywatch.settings import Settings
from review import create_app
from tests.review.conftest import PASSWORD, listing_copy, login, synthetic_original


def _upload(client, token: str, image) -> tuple[int, dict]:
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    response = client.post(
        "/api/search",
        data={"image": (io.BytesIO(data.tobytes()), "q.jpg")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    return response.status_code, response.get_json()


def _write(folder: Path, seeds: range) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"product-{seed}.png"
        cv2.imwrite(str(path), synthetic_original(seed))
        paths.append(path)
    return paths


def test_search_uses_the_index_on_disk_and_follows_new_versions(settings: Settings, tmp_path: Path) -> None:
    from db.engine import make_engine, session_factory
    from review.auth import create_user

    engine = make_engine(settings.database_url)
    with session_factory(engine)() as s, s.begin():
        create_user(s, "r@example.com", PASSWORD, "admin")  # every brand, including those registered later
    engine.dispose()
    client = create_app(settings).test_client()
    token = login(client, "r@example.com")

    status, body = _upload(client, token, listing_copy(synthetic_original(3)))
    assert status == 503 and "copywatch catalog build" in body["error"]

    first = catalog_store.register_originals(settings, "Acme", _write(tmp_path / "a", range(0, 6)))
    catalog_store.build_index(settings)
    status, body = _upload(client, token, listing_copy(synthetic_original(3)))
    assert status == 200
    assert body["results"][0]["original_id"] == str(first[3])
    assert body["results"][0]["image_url"] == f"/media/original/{first[3]}"
    assert len(body["results"]) == 6  # the whole catalog, fewer than ten originals

    # A new original lands in the index; the running app picks the new version up.
    added = catalog_store.register_originals(settings, "Acme", _write(tmp_path / "b", range(20, 21)))
    catalog_store.build_index(settings)
    status, body = _upload(client, token, listing_copy(synthetic_original(20)))
    assert status == 200 and body["results"][0]["original_id"] == str(added[0])
