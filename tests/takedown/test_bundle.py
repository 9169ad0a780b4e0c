"""Evidence bundles: exported by the command, verified by the command, every changed byte named."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from copywatch.cli import main
from takedown.capture import capture_listing
from takedown.screenshot import Screenshotter
from tests.takedown.conftest import EvidenceShop, TakedownWorld

pytestmark = pytest.mark.browser


def _env(monkeypatch: pytest.MonkeyPatch, world: TakedownWorld) -> None:
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("MEDIA_ROOT", str(world.settings.media_root))
    monkeypatch.delenv("REDIS_URL", raising=False)


def _with_one_byte_changed(source: Path, target: Path, name: str) -> None:
    """A copy of the ZIP whose member ``name`` has one byte changed (a valid ZIP, fresh CRCs)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as changed:
        for info in original.infolist():
            data = bytearray(original.read(info.filename))
            if info.filename == name:
                position = len(data) // 2
                data[position] = (data[position] + 1) % 256
            changed.writestr(info.filename, bytes(data))


@pytest.fixture
def exported(
    tworld: TakedownWorld,
    shop: EvidenceShop,
    chromium_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    detection_id = tworld.add_hit(shop, "bundle-1")
    with Screenshotter(chromium_path, user_agent="test") as browser:
        assert (
            capture_listing(
                tworld.settings, tworld.sessions, tworld.listings["bundle-1"], screenshotter=browser
            ).status
            == "captured"
        )
    _env(monkeypatch, tworld)
    out = tmp_path / "bundle.zip"
    assert main(["evidence", "export", "--detection", str(detection_id), "--out", str(out)]) == 0
    return out


def test_the_bundle_holds_every_piece_and_verifies(
    exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(exported) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    folder = sorted(n for n in names if n != "manifest.json")[0].split("/")[0]
    assert {n.split("/", 1)[1] for n in names if n != "manifest.json"} == {
        "page.warc.gz",
        "screenshot.png",
        "listing-image.jpg",
        "original.png",
        "region-listing.png",
        "region-original.png",
    }
    assert folder.startswith("detection-")
    roles = {f["role"] for f in manifest["files"]}
    assert roles == {
        "page_warc",
        "screenshot",
        "listing_image",
        "original",
        "region_listing",
        "region_original",
    }
    warc = next(f for f in manifest["files"] if f["role"] == "page_warc")
    assert (
        warc["url"].endswith("/p/bundle-1")
        and warc["captured_at"].endswith("Z")
        and warc["http_status"] == 200
    )
    assert manifest["tool_version"].startswith("copywatch/")
    assert manifest["detections"][0]["listing_url"].endswith("/p/bundle-1")
    capsys.readouterr()
    assert main(["evidence", "verify", str(exported)]) == 0
    assert "OK: 6 file(s) match" in capsys.readouterr().out


def test_changing_one_byte_of_any_file_makes_verify_name_that_file(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(exported) as archive:
        names = archive.namelist()
    assert len(names) == 7
    for name in names:
        tampered = tmp_path / f"tampered-{name.replace('/', '_')}.zip"
        _with_one_byte_changed(exported, tampered, name)
        capsys.readouterr()
        assert main(["evidence", "verify", str(tampered)]) != 0, name
        out = capsys.readouterr().out
        assert out.strip().splitlines() == [f"CHANGED {name}"], (name, out)


def test_a_manifest_byte_that_keeps_the_json_valid_is_caught(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(exported) as archive:
        raw = archive.read("manifest.json")
        others = {n: archive.read(n) for n in archive.namelist() if n != "manifest.json"}
    # Same parsed JSON, different bytes: an escaped letter's hex digit in another case.
    edited = raw.replace(b'"format":"copywatch', b'"format":"\\u0063opywatch', 1)
    assert json.loads(edited) == json.loads(raw) and edited != raw
    tampered = tmp_path / "escaped.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        archive.writestr("manifest.json", edited)
        for name, data in others.items():
            archive.writestr(name, data)
    assert main(["evidence", "verify", str(tampered)]) == 1
    assert "CHANGED manifest.json" in capsys.readouterr().out


def test_a_missing_or_added_file_is_named(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(exported) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    victim = next(n for n in members if n.endswith("screenshot.png"))
    tampered = tmp_path / "missing.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, data in members.items():
            if name != victim:
                archive.writestr(name, data)
        archive.writestr("detection-x/extra.txt", b"added later")
    capsys.readouterr()
    assert main(["evidence", "verify", str(tampered)]) == 1
    out = capsys.readouterr().out
    assert f"MISSING {victim}" in out and "EXTRA   detection-x/extra.txt" in out


def test_export_of_an_unknown_detection_fails_clearly(
    tworld: TakedownWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, tworld)
    assert main(["evidence", "export", "--detection", "999", "--out", str(tmp_path / "x.zip")]) == 1
    assert "no detection to export" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()
