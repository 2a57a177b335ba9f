"""Hostile attachment file names (issue 7): HTML and script, bidirectional overrides, zero-width
characters, NUL, lone surrogates, path traversal, absolute paths, CRLF and quote break-outs aimed at
Content-Disposition, and very long names. Each is refused with a reason or stored safely: the name
shown has no control, format or path characters, the object key has one plain segment, and the
download's Content-Disposition is one header in RFC 6266 form, an ASCII `filename` with the name
itself in `filename*` (RFC 8187), whatever the name was.

Through haproxy to the topology's S3-compatible server: presign, the browser's POST, complete, and
the download itself.
"""

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import unquote

import httpx
import pytest

from tests.security.conftest import CLIENT_TIMEOUT
from tests.utils.tokens import new_user_id

CONTENT = b"hello"
STORED_SAFELY = {
    "html and script": '<img src=x onerror="alert(1)"><script>x()</script>.txt',
    "javascript url": "javascript:alert(document.cookie)//.txt",
    "rtl override": "invoice\u202etxt.exe",
    "zero width characters": "a\u200bb\u200c\u200dc\ufeff.txt",
    "unix path traversal": "../../../etc/passwd",
    "windows path traversal": "..\\..\\windows\\win.ini",
    "absolute unix path": "/etc/shadow",
    "absolute windows path": "C:\\Windows\\System32\\cmd.exe",
    "unc path": "\\\\evil.example\\share\\x.txt",
    "percent-encoded traversal": "%2e%2e%2f%2e%2e%2fpasswd",
    "crlf header injection": "a.txt\r\nX-Injected: 1\r\n\r\n<html>",
    "quote break-out": "a.txt\"; filename*=UTF-8''evil.html",
    "semicolon parameters": "a.txt; filename=evil.html; size=1",
    "only dots": "...",
    "non-ascii name": "résumé 履歴書 🎉.txt",
    "1024 characters": "a" * 1020 + ".txt",
}
# JSON escapes Postgres cannot store as text: refused with a reason, or dropped from the name.
LONE_SURROGATES = {"lone high surrogate": "report\\ud800.txt", "lone low surrogate": "\\udfffreport.txt"}
REFUSED = {
    "nul": "a\x00b.txt",
    "1025 characters": "a" * 1021 + ".txt",
    "empty": "",
}
KEY_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# RFC 6266 with RFC 8187's ext-value: a quoted ASCII token, then the UTF-8 name percent-encoded.
DISPOSITION = re.compile(
    r"(?P<kind>attachment|inline); filename=\"(?P<ascii>[A-Za-z0-9._-]+)\""
    r"(?:; filename\*=UTF-8''(?P<encoded>[A-Za-z0-9%!#$&+^_`|~.-]+))?"
)


def presign(client: httpx.Client, name: str) -> httpx.Response:
    return client.post(
        "/uploads", json={"filename": name, "content_type": "text/plain", "size": len(CONTENT)}
    )


def presign_escaped(client: httpx.Client, escaped_name: str) -> httpx.Response:
    """The name as raw JSON escapes, which a hand-made request can send and no encoder would."""
    text = f'{{"filename": "{escaped_name}", "content_type": "text/plain", "size": {len(CONTENT)}}}'
    return client.post("/uploads", content=text.encode(), headers={"content-type": "application/json"})


def assert_safe_display_name(name: str) -> None:
    assert name and len(name) <= 255, name
    unsafe = [ch for ch in name if unicodedata.category(ch).startswith("C") or ch in "/\\"]
    assert not unsafe, f"{name!r} keeps {unsafe}"
    assert not name.startswith("."), name


def assert_rfc_6266(disposition: str, display_name: str) -> None:
    match = DISPOSITION.fullmatch(disposition)
    assert match, f"not one RFC 6266 value: {disposition!r}"
    shown = unquote(match["encoded"], errors="strict") if match["encoded"] else match["ascii"]
    assert shown == display_name, (disposition, display_name)


@pytest.fixture
def uploader(lb_api: Callable[[str], httpx.Client]) -> tuple[str, httpx.Client]:
    user_id = new_user_id("uploader")
    return user_id, lb_api(user_id)


def assert_stored_safely(user_id: str, client: httpx.Client, presigned: httpx.Response) -> None:
    """The key, the name shown and the download's Content-Disposition, after a real upload."""
    assert presigned.status_code == 201, presigned.text
    fields = presigned.json()["fields"]
    owner, segment = fields["key"].split("/")[1], fields["key"].split("/")[-1]
    assert len(fields["key"].split("/")) == 4 and owner == user_id, fields["key"]
    assert KEY_SEGMENT.fullmatch(segment) and ".." not in segment, fields["key"]
    stored = httpx.post(
        presigned.json()["url"],
        data=fields,
        files={"file": ("f", CONTENT, "text/plain")},
        timeout=CLIENT_TIMEOUT,
    )
    assert stored.status_code in (200, 204), stored.text
    upload = client.post(f"/uploads/{presigned.json()['id']}/complete").json()
    assert upload["status"] == "ready", upload
    assert_safe_display_name(upload["filename"])
    assert_rfc_6266(fields["Content-Disposition"], upload["filename"])
    download = httpx.get(upload["url"], timeout=CLIENT_TIMEOUT)
    assert download.status_code == 200 and download.content == CONTENT
    assert download.headers.get_list("content-disposition") == [fields["Content-Disposition"]]
    assert "x-injected" not in download.headers


def assert_refused_with_a_reason(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"], error


@pytest.mark.parametrize("case", list(STORED_SAFELY))
def test_a_hostile_file_name_is_stored_safely_and_downloads_with_one_safe_header(uploader, case) -> None:
    user_id, client = uploader
    assert_stored_safely(user_id, client, presign(client, STORED_SAFELY[case]))


@pytest.mark.parametrize("case", list(LONE_SURROGATES))
def test_a_file_name_with_a_lone_surrogate_is_refused_with_a_reason_or_stored_safely(uploader, case) -> None:
    user_id, client = uploader
    presigned = presign_escaped(client, LONE_SURROGATES[case])
    if presigned.status_code == 422:
        assert_refused_with_a_reason(presigned)
    else:
        assert_stored_safely(user_id, client, presigned)


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_file_name_postgres_cannot_hold_or_over_the_limit_is_refused_with_a_reason(uploader, case) -> None:
    _user_id, client = uploader
    assert_refused_with_a_reason(presign(client, REFUSED[case]))
