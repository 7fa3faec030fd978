"""pierrot gallery in a real browser: the installed `pierrot` writes the page, headless Chromium renders it.

The thumbnails come from a loopback image server, so the browser loads real images offline. Without `chromium`
the test is skipped, except under CI (`CI` set), where it fails: install Debian's `chromium` package."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pierrot.adapters.stores.local import LocalStore
from pierrot.domain import CATALOGUE_DOCUMENT, FAILED, LOG_DOCUMENT, PUBLISHED, UNKNOWN, Catalogue, Size
from tests.e2e.conftest import pierrot_executable
from tests.e2e.servers import clean_environment
from tests.fakes import entry, make_photo

pytestmark = pytest.mark.e2e

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000",
)  # fmt: skip
# Sky, sea and sand: one flat colour scheme a thumbnail, so a screenshot of the page stays small.
SCENES = (
    ((0x8e, 0xc5, 0xfc), (0x1f, 0x5f, 0x8b), (0xe9, 0xd8, 0xa6)),
    ((0xf4, 0xa2, 0x61), (0x26, 0x46, 0x53), (0x2a, 0x9d, 0x8f)),
    ((0xcd, 0xb4, 0xdb), (0x5e, 0x54, 0x8e), (0xff, 0xc8, 0xdd)),
    ((0xad, 0xe8, 0xf4), (0x00, 0x77, 0xb6), (0xca, 0xf0, 0xf8)),
    ((0xff, 0xe5, 0xb4), (0xbc, 0x6c, 0x25), (0x60, 0x6c, 0x38)),
    ((0xd8, 0xe2, 0xdc), (0x6d, 0x68, 0x75), (0xb5, 0x83, 0x8d)),
)
TITLES = (
    "Harbour at dawn", 'Boats <b>"moored"</b> & waiting', "\u202eevil\u202c reversed", "Dunes",
    "<script>alert(1)</script>", "Fog over the pier",
)  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: CI must install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def png(width: int, height: int, scene: tuple[tuple[int, int, int], ...]) -> bytes:
    """A flat landscape: sky, sea, then sand."""
    sky, sea, sand = (bytes(c) for c in scene)
    rows = [b"\x00" + (sky if y < height * 0.55 else sea if y < height * 0.8 else sand) * width for y in range(height)]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + \
        chunk(b"IEND", b"")


class ImageServer:
    """Thumbnails on loopback; records each path asked for."""

    def __init__(self) -> None:
        self.images = {f"/img/{n}.png": png(320, 213, scene) for n, scene in enumerate(SCENES)}
        self.requested: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requested.append(self.path)
                body = server.images.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.http.shutdown()
    server.http.server_close()


class Rendered(HTMLParser):
    """The images and links of the DOM as Chromium built it."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[str | None] = []
        self.scripts = 0
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "script":
            self.scripts += 1


def write_page(tmp_path: Path, images: ImageServer) -> tuple[Path, set[str]]:
    """Six photos posted on three networks and three waiting, and the page the installed `pierrot gallery` writes."""
    photos = [
        make_photo(n, title=TITLES[n], description="Seen from the north pier.",
                   date_taken=f"20{10 + n}-06-0{n + 1} 07:30:00",
                   sizes=(Size("z", f"{images.base}/img/{n}.png", 640, 426),))
        for n in range(len(SCENES))
    ]
    entries = []
    for n, photo in enumerate(photos):
        entries.append(entry(photo, "x", UNKNOWN if n == 1 else PUBLISHED, seconds=n * 86400,
                             reason="no answer within 30 s" if n == 1 else None))
        entries.append(entry(photo, "bluesky", PUBLISHED, seconds=n * 86400 + 5,
                             post_url=f"https://bsky.app/profile/someone.bsky.social/post/3lbq{n}"))
        if n % 2 == 0:
            entries.append(entry(photo, "mastodon", FAILED if n == 4 else PUBLISHED, seconds=n * 86400 + 9,
                                 post_url=None if n == 4 else f"https://mastodon.social/@someone/11{n}",
                                 reason="refused: HTTP 422" if n == 4 else None))
    folder = tmp_path / "store"
    waiting = [make_photo(n, title=f"Not posted yet {n}") for n in range(10, 13)]
    LocalStore(folder).write(CATALOGUE_DOCUMENT, Catalogue("12345678@N00", photos + waiting).to_doc(), None)
    LocalStore(folder).write(LOG_DOCUMENT, {"version": 1, "entries": entries}, None)
    env = clean_environment(tmp_path / "home")
    env.update({"PIERROT_STORE": str(folder), "PIERROT_PUBLISH_NETWORKS": "x,bluesky,mastodon"})
    page = tmp_path / "gallery.html"
    done = subprocess.run([pierrot_executable(), "gallery", "--output", str(page)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(page)
    urls = {e["post_url"] for e in entries if e["post_url"] and e["status"] == PUBLISHED}
    return page, urls


def render(browser: str, page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def console_messages(stderr: str) -> list[str]:
    """What the page said on Chromium's console. The page runs no script, so every line is an error: a refused
    script or resource, a policy violation (Chromium logs them all as INFO:CONSOLE, whatever their level)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_the_console_check_sees_what_a_page_says(tmp_path: Path) -> None:
    browser = chromium()
    page = tmp_path / "bad.html"
    page.write_text("<!doctype html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
                    "<title>bad</title><script>console.log('hello')</script>")
    done = render(browser, page, tmp_path, "--dump-dom")
    assert [line for line in console_messages(done.stderr) if "Content Security Policy" in line]


def test_the_page_renders_in_chromium_with_alt_text_on_every_thumbnail_and_only_post_links(
    tmp_path: Path, images: ImageServer
) -> None:
    browser = chromium()
    page, urls = write_page(tmp_path, images)

    done = render(browser, page, tmp_path, "--dump-dom")

    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    dom = Rendered(done.stdout)
    assert dom.scripts == 0
    assert len(dom.images) == len(SCENES)
    assert all((img.get("alt") or "").strip() for img in dom.images)
    assert set(dom.links) == urls and len(dom.links) == len(urls)
    assert "<script>alert(1)</script>" in done.stdout.replace("&lt;", "<").replace("&gt;", ">")
    assert set(images.requested) <= set(images.images)  # every image asked for exists
    assert images.requested, "the browser loaded no thumbnail"


def test_a_screenshot_of_the_page(tmp_path: Path, images: ImageServer) -> None:
    browser = chromium()
    page, _ = write_page(tmp_path, images)
    shot = Path(os.environ.get("PIERROT_GALLERY_SCREENSHOT") or tmp_path / "gallery.png")

    done = render(browser, page, tmp_path, f"--screenshot={shot}", "--window-size=1200,1120",
                  "--hide-scrollbars")

    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and re.search(rb"IHDR", data[:16])
    assert len(images.requested) == len(SCENES)  # every thumbnail on screen was loaded
