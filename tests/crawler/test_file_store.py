"""The listing images' local store when several crawl processes share it."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.pipelines.files import FSFilesStore
from scrapy.utils.test import get_crawler

from crawler.pipelines import ListingImagesPipeline, SharedFSFilesStore


def _folder_made_by_another_process_meanwhile(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The store's folder already exists, but was missing when this process looked (a race)."""
    folder.mkdir(parents=True)
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: False if self == folder else real_exists(self))


def test_scrapys_store_fails_when_another_crawl_made_its_folder_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder_made_by_another_process_meanwhile(monkeypatch, tmp_path / "media" / "listings")
    with pytest.raises(FileExistsError):
        FSFilesStore(str(tmp_path / "media" / "listings"))


def test_the_shared_store_opens_when_another_crawl_made_its_folder_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "media" / "listings"
    _folder_made_by_another_process_meanwhile(monkeypatch, folder)
    store = SharedFSFilesStore(str(folder))
    assert store.basedir == str(folder)


@pytest.mark.parametrize("prefix", ["", "file://"])
def test_the_images_pipeline_stores_locally_through_the_shared_store(tmp_path: Path, prefix: str) -> None:
    folder = tmp_path / "new" / "listings"
    crawler = get_crawler(settings_dict={"FILES_STORE": prefix + str(folder)})
    pipeline = ListingImagesPipeline(prefix + str(folder), crawler=crawler)
    assert type(pipeline.store) is SharedFSFilesStore and folder.is_dir()
