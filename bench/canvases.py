"""The bodies the page posts, for the tests and the benchmarks: real MNIST test digits drawn as
a person would (mnistdraw.drawings) on the page's transparent 280 px canvas, as data URLs.

`canvas_data_url` has Pillow encode the PNG: quick, no browser needed, what the tests post.
`page_bodies`, for the benchmarks, has a real browser encode it: each drawing is put on a
280 px canvas in headless chromium and read back with `canvas.toDataURL("image/png")`, as the
page does, so the pixels are the drawing's and the PNG is the browser's. This matters for
speed: chromium compresses fast (zlib level 1, the Up filter on every row), so its PNGs are
about twice the size of Pillow's (level 6, adaptive filters) and inflate in about half the
time. Bodies encoded by Pillow would overstate what decoding a real request costs by ~0.3 ms.

`page_bodies` needs Debian's chromium (`make chromium`) and Playwright (requirements-dev.txt).
"""

from functools import cache
from pathlib import Path

import numpy as np

from mnistdraw import data, drawings

CHROMIUM = Path("/usr/bin/chromium")
TO_DATA_URLS = """async (urls) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 280;
  const ctx = canvas.getContext("2d");
  const out = [];
  for (const url of urls) {
    const image = new Image();
    image.src = url;
    await image.decode();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, 0, 0);
    out.push(canvas.toDataURL("image/png"));
  }
  return out;
}"""


@cache
def mnist_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits (uint8 28x28) and their labels, loaded once."""
    return data.load("test")


def canvas(index: int, **style):
    """MNIST test digit number `index` drawn on the page's transparent canvas (any field of
    `drawings.Style` may be changed)."""
    digit = mnist_test_set()[0][index]
    return drawings.draw(digit, drawings.Style(**{"transparent": True, **style}))


def canvas_png(index: int, **style) -> bytes:
    """`canvas` as PNG bytes encoded by Pillow."""
    return drawings.encode(canvas(index, **style))


def canvas_data_url(index: int, **style) -> bytes:
    """`canvas` as the data URL that the page posts."""
    return drawings.data_url(canvas(index, **style))


def page_bodies(count: int) -> list[bytes]:
    """The first `count` MNIST test digits as the page would post them: PNG data URLs."""
    if not CHROMIUM.is_file():
        raise SystemExit(
            f"{CHROMIUM} is missing: the benchmarks have the browser encode the canvases. "
            "Install it with `apt-get install -y chromium` (or `make chromium`)."
        )
    from playwright.sync_api import sync_playwright

    drawn = [canvas_data_url(i).decode("ascii") for i in range(count)]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            encoded = browser.new_page().evaluate(TO_DATA_URLS, drawn)
        finally:
            browser.close()
    return [url.encode("ascii") for url in encoded]
