"""The gallery as one self-contained HTML page, and where it goes: a file, or next to the documents in S3.

Presentation, like the CLI's lines for ``status``: the entry points render what the service returns. Every value is
escaped; the page has inline CSS, no script, no font or style from elsewhere, and a policy that forbids scripts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pierrot.errors import PierrotError
from pierrot.files import replace_file
from pierrot.service.gallery import Anniversary, Gallery, GalleryItem, PostLink

if TYPE_CHECKING:
    from pierrot.config import Settings
    from pierrot.ports import DocumentStore

log = logging.getLogger(__name__)

PAGE_NAME = "pierrot-gallery.html"
CONTENT_TYPE = "text/html; charset=utf-8"
LINK_SECONDS = 24 * 3600
GALLERY_ENV = "PIERROT_GALLERY"

_STATE_LABELS = {
    "published": "published",
    "unknown": "unknown: check and resolve",
    "failed": "failed",
    "pending": "pending",
}

_CSS = """
:root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fafafa;--card:#fff;--muted:#6e6e73;--line:#e3e3e8;
--ok:#1a7f37;--warn:#b35900;--bad:#c62828}
@media (prefers-color-scheme:dark){:root{--fg:#f2f2f7;--bg:#111113;--card:#1c1c1f;--muted:#a1a1a6;--line:#333338}}
*{box-sizing:border-box}
body{margin:0;padding:24px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
h1{margin:0 0 4px;font-size:24px}
.sub{margin:0 0 16px;color:var(--muted);font-size:13px}
.counts{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 12px;padding:0;list-style:none}
.counts li{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px}
.counts b{display:block;font-size:20px}
table{border-collapse:collapse;margin:0 0 16px;font-size:13px}
th,td{padding:4px 12px 4px 0;text-align:left}
td.n{text-align:right}
.anniversaries{margin:0 0 20px;font-size:14px}
.anniversaries ul{margin:4px 0 0;padding-left:20px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:16px;margin:0;padding:0;
list-style:none}
.photo{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
.photo img,.photo .none{display:block;width:100%;height:auto;aspect-ratio:3/2;object-fit:cover;background:var(--line)}
.photo .none{display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:13px}
.body{padding:10px 12px 12px}
.photo h2{margin:0;font-size:15px;overflow-wrap:anywhere}
.taken{margin:2px 0 8px;color:var(--muted);font-size:12px}
.posts{margin:0;padding:0;list-style:none;font-size:13px}
.posts li{margin:2px 0;overflow-wrap:anywhere}
.state{font-size:12px;font-weight:600}
.published .state{color:var(--ok)}
.unknown .state,.pending .state{color:var(--warn)}
.failed .state{color:var(--bad)}
.posts code,.posts .why{display:block;color:var(--muted);font-size:11px}
.older{margin:20px 0 0;color:var(--muted)}
"""


def render(page: Gallery, displays: Mapping[str, str] | None = None) -> str:
    """The page as HTML; ``displays`` gives each network's name as people say it."""
    shown = dict(displays or {})

    def display(name: str) -> str:
        return shown.get(name, name)

    parts = [
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        # No script may run, whatever a title holds; images from anywhere (Flickr's hosts, a test's loopback).
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src https: http:; "
        "style-src 'unsafe-inline'\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<meta name=\"referrer\" content=\"no-referrer\">",
        "<title>pierrot: the posted photos</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><h1>The posted photos</h1>",
        f"<p class=\"sub\">{_e(page.store)} · written {_e(page.generated_at)}"
        f" · last sync {_e(page.last_sync or 'never')} · last publish {_e(page.last_publish or 'never')}</p>",
        "<ul class=\"counts\">",
        f"<li><b>{page.photos:,}</b>photos</li><li><b>{page.posted:,}</b>posted</li><li><b>{page.left:,}</b>left</li>",
        "</ul>",
        _networks_table(page, display),
        _anniversaries(page.anniversaries),
        "</header><main>",
    ]
    if page.items:
        parts.append("<ul class=\"grid\">")
        parts.extend(_item(item, display) for item in page.items)
        parts.append("</ul>")
    else:
        parts.append("<p>Nothing posted yet.</p>")
    if page.older:
        parts.append(f"<p class=\"older\">and {page.older:,} older post{'s' if page.older != 1 else ''}: "
                     "<code>pierrot history</code> lists them all.</p>")
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _networks_table(page: Gallery, name_of: Callable[[str], str]) -> str:
    if not page.networks:
        return ""
    rows = "".join(
        f"<tr><th scope=\"row\">{_e(name_of(name))}</th><td class=\"n\">{n.published:,}</td>"
        f"<td class=\"n\">{n.remaining:,}</td><td class=\"n\">{n.unknown:,}</td><td class=\"n\">{n.failed:,}</td>"
        f"<td>{_e(n.last_publish or 'never')}</td></tr>"
        for name, n in page.networks.items()
    )
    return ("<table><thead><tr><th>network</th><th>posted</th><th>left</th><th>unknown</th><th>failed</th>"
            f"<th>last post</th></tr></thead><tbody>{rows}</tbody></table>")


def _anniversaries(found: list[Anniversary] | None) -> str:
    if found is None:
        return ""
    if not found:
        return "<section class=\"anniversaries\">No anniversary ahead among the photos left.</section>"
    rows = "".join(
        f"<li>{_e(a.date.isoformat())}: <bdi>{_e(a.title or 'Untitled photo')}</bdi> ({_e(a.photo_id)}), "
        f"{a.years} year{'s' if a.years != 1 else ''}</li>"
        for a in found
    )
    return f"<section class=\"anniversaries\">The next anniversaries:<ul>{rows}</ul></section>"


def _item(item: GalleryItem, name_of: Callable[[str], str]) -> str:
    if item.thumbnail is not None:
        thumb = item.thumbnail
        image = (f"<img src=\"{_e(thumb.url)}\" width=\"{thumb.width}\" height=\"{thumb.height}\" "
                 f"alt=\"{_e(item.alt)}\" loading=\"lazy\" decoding=\"async\">")
    else:
        image = "<div class=\"none\">no longer on Flickr</div>"
    taken = f"taken {_e(item.date_taken)}" if item.date_taken else "date taken unknown"
    links = "".join(_post(link, item.photo_id, name_of(link.network)) for link in item.links)
    return (f"<li class=\"photo\">{image}<div class=\"body\"><h2><bdi>{_e(item.title or 'Untitled photo')}</bdi></h2>"
            f"<p class=\"taken\">{taken} · photo {_e(item.photo_id)}</p><ul class=\"posts\">{links}</ul></div></li>")


def _post(link: PostLink, photo_id: str, display: str) -> str:
    state = _STATE_LABELS.get(link.state, link.state)
    where = (f"<a href=\"{_e(link.url)}\" rel=\"noopener noreferrer\">{_e(display)}</a>" if link.url
             else f"{_e(display)}" + (f" <bdi>{_e(link.shown)}</bdi>" if link.shown else ""))
    extra = ""
    if link.state == "unknown":
        extra = f"<code>pierrot resolve {_e(photo_id)} --network {_e(link.network)}</code>"
    if link.reason:
        extra += f"<span class=\"why\"><bdi>{_e(link.reason)}</bdi></span>"
    return f"<li class=\"{_e(link.state)}\">{where} <span class=\"state\">{_e(state)}</span>{extra}</li>"


# ==== where the page goes ========================================================================


@runtime_checkable
class PageHost(Protocol):
    """A store that can keep a page next to the documents and hand out a link to it (S3)."""

    def put_page(self, name: str, data: bytes, content_type: str, *, expires: int = LINK_SECONDS) -> str: ...


def build(store: DocumentStore, settings: Settings) -> bytes:
    """The page for these settings, as UTF-8 bytes."""
    from pierrot import service
    from pierrot.adapters import networks
    from pierrot.errors import UsageError

    page = service.gallery(store, settings.networks, filters=settings.filters, alt_template=settings.alt_template,
                           prefer=settings.prefer)
    displays = {}
    for name in page.networks:
        try:
            displays[name] = networks.get(name).display
        except UsageError:  # a network this pierrot no longer knows keeps its logged name
            displays[name] = name
    return render(page, displays).encode()


def write_file(path: Path, data: bytes) -> Path:
    """Write the page by a temporary file and a rename (mode 0644: it is a page to open), and return its path."""
    path = path.expanduser()
    try:
        replace_file(path, data, mode=0o644)
    except OSError as exc:
        raise PierrotError(f"cannot write {path}: {exc.strerror or exc}; choose another --output") from None
    return path.resolve()


def upload(store: DocumentStore, data: bytes) -> str:
    """Put the page next to the documents (private) and return a link to it, valid for a day."""
    if not isinstance(store, PageHost):
        raise TypeError("this store cannot keep a page")
    return store.put_page(PAGE_NAME, data, CONTENT_TYPE, expires=LINK_SECONDS)


def wanted_after_publish(settings: Settings, env: Mapping[str, str]) -> bool:
    """``PIERROT_GALLERY``: the setting when config.py knows it, else the Lambda's environment variable."""
    value = settings.values.get("gallery")
    if value is None:
        value = env.get(GALLERY_ENV, "")
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


def after_publish(settings: Settings, env: Mapping[str, str]) -> None:
    """Rewrite the page in the store after a publish, when asked; a failure is a warning, never the publish's."""
    if not wanted_after_publish(settings, env):
        return
    try:
        from pierrot.entrypoints import wiring

        store = wiring.build_store(settings)
        if not isinstance(store, PageHost):
            log.warning("%s is set but the store %s cannot keep a page: not written", GALLERY_ENV, store.location)
            return
        upload(store, build(store, settings))
        log.info("gallery page written next to the documents in %s", store.location)
    except Exception as exc:  # the post is made and recorded: the page is a nicety
        log.warning("the gallery page could not be written: %s", exc)
