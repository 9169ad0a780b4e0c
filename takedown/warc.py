"""Write a fetch's HTTP exchanges as a WARC file (ISO 28500) with warcio, and read one back.

Each hop becomes a ``request`` record and a ``response`` record (concurrent to each other) whose
payload is the body as the server sent it. A body cut at the size cap carries
``WARC-Truncated: length``. ``Transfer-Encoding`` is kept as ``X-Archive-Orig-Transfer-Encoding``:
the body was read de-chunked, and a reader must not de-chunk it again.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from takedown.fetch import HttpExchange

_HOP_BY_HOP_RENAMED = {"transfer-encoding"}


def warc_bytes(exchanges: Sequence[HttpExchange], *, software: str) -> bytes:
    """A gzipped WARC file with a ``warcinfo`` record, then request + response per exchange."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    info = writer.create_warcinfo_record(
        "evidence.warc.gz", {"software": software, "format": "WARC File Format 1.1"}
    )
    writer.write_record(info)
    for exchange in exchanges:
        date = exchange.started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        response_headers = [
            (f"X-Archive-Orig-{name}" if name.lower() in _HOP_BY_HOP_RENAMED else name, value)
            for name, value in exchange.response_headers
        ]
        warc_headers = {"WARC-Date": date}
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = "length"
        response = writer.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=None,
            http_headers=StatusAndHeaders(
                f"{exchange.status} {exchange.reason}".strip(), response_headers, protocol="HTTP/1.1"
            ),
            warc_headers_dict=warc_headers,
        )
        request = writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(
                exchange.request_line, list(exchange.request_headers), is_http_request=True
            ),
            warc_headers_dict={"WARC-Date": date},
        )
        request.rec_headers.add_header(
            "WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID")
        )
        writer.write_record(response)
        writer.write_record(request)
    return buffer.getvalue()


@dataclass(frozen=True)
class WarcRecordSummary:
    """What a reader sees of one record."""

    rec_type: str
    target_uri: str | None
    http_status: str | None
    payload: bytes


def read_warc(data: bytes) -> list[WarcRecordSummary]:
    """Every record of a WARC file, read back with warcio's ``ArchiveIterator``."""
    records = []
    for record in ArchiveIterator(io.BytesIO(data)):
        status = record.http_headers.get_statuscode() if record.http_headers else None
        records.append(
            WarcRecordSummary(
                rec_type=record.rec_type,
                target_uri=record.rec_headers.get_header("WARC-Target-URI"),
                http_status=status,
                payload=record.content_stream().read(),
            )
        )
    return records
