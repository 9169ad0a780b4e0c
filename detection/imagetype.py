"""An image's type from its first bytes, without numpy or Pillow (the crawl process imports it)."""

from __future__ import annotations

# The first bytes of each image type a marketplace photo can be (WebP: "RIFF", size, "WEBP").
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
IMAGE_TYPES = ("jpeg", "png", "gif", "bmp", "tiff", "webp")


def sniff_image_type(head: bytes) -> str | None:
    """The image type the bytes start with (one of :data:`IMAGE_TYPES`), or None.

    The type is decided by content, never by a file name, URL or Content-Type header; 12 bytes
    are enough.
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    return None
