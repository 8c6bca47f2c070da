"""Headless Chromium (Debian's `chromium`) for the report page tests: the browser, the page as
it rendered (DOM), a screenshot read back into pixels, and every network request the page made.

tests/browser/chromium.sh finds Chromium or installs it (as tests/groovy/run.sh installs groovy).
Chromium runs with --headless --no-sandbox --disable-gpu --disable-background-networking
--no-first-run and a fresh --user-data-dir; its proxy is an address where nothing listens, so
nothing can leave the machine, and its network log (--log-net-log) shows what the page asked for.
"""

from __future__ import annotations

import json
import pathlib
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
INSTALLER = REPOSITORY / "tests" / "browser" / "chromium.sh"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--proxy-server=http://127.0.0.1:9", "--hide-scrollbars"]


def find_chromium() -> str:
    done = subprocess.run(["sh", str(INSTALLER)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"tests/browser/chromium.sh could not provide Chromium: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


@dataclass
class Rendered:
    dom: str  # the DOM after loading (--dump-dom)
    pixels: "Image"  # the screenshot
    page_requests: list[str]  # URLs the page itself asked for (not the browser's own services)


def render(chromium: str, page: pathlib.Path, width: int = 1400, height: int = 1000) -> Rendered:
    with tempfile.TemporaryDirectory() as work:
        work_path = pathlib.Path(work)
        url = page.resolve().as_uri()
        netlog = work_path / "netlog.json"
        dom = _run(chromium, work_path / "profile-dom", [f"--log-net-log={netlog}", "--dump-dom", url]).stdout
        shot = work_path / "shot.png"
        _run(chromium, work_path / "profile-shot", [f"--screenshot={shot}", f"--window-size={width},{height}", url])
        return Rendered(dom, read_png(shot.read_bytes()), page_requests(netlog))


def _run(chromium: str, profile: pathlib.Path, arguments: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def page_requests(netlog: pathlib.Path) -> list[str]:
    """URLs requested on behalf of a file:// page (the browser's own update checks and the like
    belong to no page and are left out)."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start and "file://" in str(params.get("network_isolation_key", "")):
            if not str(params.get("url", "")).startswith("file:"):
                urls.append(params["url"])
    return urls


# -- the DOM -----------------------------------------------------------------------------------


class Elements(HTMLParser):
    """Every element with data-* attributes, as (tag, attributes) in document order."""

    def __init__(self, text: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if any(key.startswith("data-") for key in attributes):
            self.found.append((tag, attributes))

    def with_class(self, name: str) -> list[dict]:
        return [attributes for _, attributes in self.found if name in (attributes.get("class") or "").split()]


# -- pixels ------------------------------------------------------------------------------------


@dataclass
class Image:
    width: int
    height: int
    rows: list[bytes]  # RGB(A) bytes per row
    channels: int

    def count(self, colour: str) -> int:
        """Pixels of exactly this #rrggbb colour."""
        wanted = bytes(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        step = self.channels
        return sum(1 for row in self.rows for x in range(0, len(row), step) if row[x:x + 3] == wanted)


def read_png(data: bytes) -> Image:
    """A non-interlaced 8-bit RGB or RGBA PNG (what Chromium's --screenshot writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks = 8, {}
    idat = b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, (depth, colour_type, interlace)
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                distances = (abs(guess - left), abs(guess - up), abs(guess - corner))
                line[x] = (line[x] + (left, up, corner)[distances.index(min(distances))]) & 0xFF
        rows.append(bytes(line))
        previous = line
    return Image(width, height, rows, channels)
