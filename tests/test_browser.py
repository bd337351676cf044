"""The page in a real browser: Debian's chromium driven by Playwright, against the real servers
and the real model. Digits and numbers are drawn with the mouse and with touch, files are
uploaded, and the result is read from the page as a visitor sees it. The API is intercepted
only where a test needs the server to fail or to answer as an older server did."""

import base64
import io
import json
import math
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.canvases import mnist_test_set
from bench.servers import API, request
from tests.helpers import command_line

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGE_PATH = {"classic": "/index.html", "persistent": "/"}
TIMEOUT_MS = 20_000  # a CGI request starts a Python process; CI machines can be slow
# Screens: a desktop, and a phone held upright and sideways (360 x 740 CSS px, 2 device px each)
PHONE = {"device_scale_factor": 2, "has_touch": True, "is_mobile": True}
SCREENS = {
    "desktop": {"viewport": {"width": 1200, "height": 900}},
    "phone": {"viewport": {"width": 360, "height": 740}, **PHONE},
    "phone sideways": {"viewport": {"width": 740, "height": 360}, **PHONE},
}
BLANK_HINT = "draw a digit on the canvas first"
EXPLAIN = API + "?explain=1"  # what the page asks when "How did it read this?" is open
# the examples to try (python -m mnistdraw samples), in the order the page shows them
SAMPLES = json.loads((ROOT / "samples" / "index.json").read_text())["samples"]

# Digits as strokes, in fractions of a square as high as the canvas, in its middle (the canvas
# is wider than high): drawn the way a person draws one digit.
SEVEN = [[(0.30, 0.24), (0.70, 0.24), (0.46, 0.80)]]
ONE = [[(0.50, 0.20), (0.50, 0.80)]]


def ring(cx, cy, rx, ry, n=36):
    """A closed oval stroke, started at the top and drawn anticlockwise, as a 0 is."""
    return [
        (cx - rx * math.sin(2 * math.pi * i / n), cy - ry * math.cos(2 * math.pi * i / n))
        for i in range(n + 1)
    ]


ZERO = [ring(0.5, 0.5, 0.19, 0.29)]
# Digits that people draw in two strokes: the answer after the last one is what counts.
TWO_STROKES = {
    4: [[(0.36, 0.20), (0.30, 0.58), (0.70, 0.58)], [(0.58, 0.32), (0.58, 0.84)]],
    7: [[(0.30, 0.24), (0.70, 0.24), (0.46, 0.80)], [(0.38, 0.52), (0.64, 0.52)]],
    3: [
        [(0.34, 0.26), (0.50, 0.18), (0.64, 0.26), (0.62, 0.40), (0.48, 0.48)],
        [(0.48, 0.48), (0.66, 0.58), (0.66, 0.72), (0.50, 0.82), (0.32, 0.74)],
    ],
}
# Things that are not digits, as a class draws them in the first minute.
CAPITAL_A = [[(0.25, 0.82), (0.50, 0.16), (0.75, 0.82)], [(0.36, 0.56), (0.64, 0.56)]]
SMILEY = [
    ring(0.5, 0.5, 0.34, 0.34),
    ring(0.38, 0.40, 0.03, 0.03, 8),
    ring(0.62, 0.40, 0.03, 0.03, 8),
    [(0.34, 0.60), (0.42, 0.68), (0.50, 0.70), (0.58, 0.68), (0.66, 0.60)],
]
STAR = [
    [
        (0.5 + r * math.sin(math.pi * i / 5), 0.5 - r * math.cos(math.pi * i / 5))
        for i, r in enumerate([0.36, 0.14] * 5 + [0.36])
    ]
]
SCRIBBLE = [[(0.2, 0.3), (0.8, 0.4), (0.3, 0.7), (0.7, 0.2), (0.4, 0.8), (0.75, 0.75), (0.2, 0.5)]]


def arc(cx, cy, rx, ry, start, end, n=16):
    """Points on an ellipse from angle `start` to `end` in degrees (0 is right, 90 down)."""
    return [
        (
            cx + rx * math.cos(math.radians(start + (end - start) * i / n)),
            cy + ry * math.sin(math.radians(start + (end - start) * i / n)),
        )
        for i in range(n + 1)
    ]


# The digits of numbers, as strokes in a cell (x and y from 0 to 1) that is 0.62 as wide as
# high, in the order and direction a person writes them.
GLYPHS = {
    "0": [arc(0.5, 0.5, 0.45, 0.5, -90, -450, 36)],
    "2": [arc(0.5, 0.28, 0.42, 0.28, 190, 380, 14) + [(0.05, 1.0), (0.98, 1.0)]],
    "4": [[(0.62, 0.0), (0.02, 0.68), (0.98, 0.68)], [(0.72, 0.3), (0.72, 1.0)]],
    "5": [[(0.9, 0.0), (0.18, 0.0), (0.12, 0.45)] + arc(0.5, 0.7, 0.42, 0.3, -140, 150)],
    "6": [[(0.78, 0.0), (0.45, 0.18)] + arc(0.5, 0.7, 0.42, 0.3, 200, 560, 24)],
    "7": [[(0.02, 0.0), (0.98, 0.0), (0.35, 1.0)]],
    "A": [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], [(0.22, 0.6), (0.78, 0.6)]],
    # strokes that do not touch: the hat of a 5 lifted off its body, the bar of a 7 apart
    "5 apart": [
        [(0.3, 0.0), (0.95, 0.0)],
        [(0.16, 0.08), (0.12, 0.45)] + arc(0.5, 0.7, 0.42, 0.3, -140, 150),
    ],
    "7 apart": [[(0.02, 0.0), (0.98, 0.0), (0.35, 1.0)], [(0.3, 0.52), (0.9, 0.52)]],
}


def written(glyphs, aspect, height=0.6, gap=0.35):
    """The glyphs side by side, `height` of the canvas high (less if they would not fit in
    92 % of its width, as a person writes smaller at the end of a line), gaps of `gap` of a
    digit's width, centred: strokes in fractions of a canvas `aspect` times as wide as high."""
    glyphs = [GLYPHS[g] for g in glyphs]
    height = min(height, 0.92 * aspect / (0.62 * (len(glyphs) + (len(glyphs) - 1) * gap)))
    width = height * 0.62 / aspect  # a digit's width, as a fraction of the canvas's
    total = len(glyphs) * width + (len(glyphs) - 1) * gap * width
    left, top = (1 - total) / 2, (1 - height) / 2
    return [
        [(left + i * width * (1 + gap) + x * width, top + y * height) for x, y in stroke]
        for i, glyph in enumerate(glyphs)
        for stroke in glyph
    ]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser():
    """One chromium for the whole module (the machine is small)."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium. "
            "Install it with `apt-get install -y chromium` (or `make chromium`)."
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def wait_until(page, expression: str, arg=None, timeout: float = 10) -> None:
    """Poll a JavaScript expression or function (given `arg`) until it is truthy. Playwright's
    wait_for_function polls with eval inside the page, which the page's Content-Security-
    Policy refuses (no 'unsafe-eval') whenever the first check is false: a flaky failure."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)


@pytest.fixture
def open_page(browser):
    """open_page(url, **context options) -> a loaded page. At the end of the test it fails on
    any uncaught script error, any Content-Security-Policy violation, and any page asset
    (not the API) that did not load."""
    contexts = []
    problems = []

    def make(url, **options):
        settings = {
            "viewport": {"width": 1200, "height": 900},
            "color_scheme": "light",
            "reduced_motion": "reduce",  # bars settle at once, so their sizes can be measured
            **options,
        }
        context = browser.new_context(**settings)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"uncaught error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} for {r.url}")
                if r.status >= 400 and not r.url.endswith(API)
                else None
            ),
        )
        page.goto(url)
        try:  # js/main.js marks the page ready once everything is wired up
            page.wait_for_selector("html.ready", state="attached", timeout=10_000)
        except Exception:
            pytest.fail(f"the page's script did not start at {url}: {problems}")
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture
def server_page(request, server, open_page):
    """The page on both servers (classic at /index.html, persistent at /)."""
    mode = request.node.callspec.params["server"]
    return open_page(server + PAGE_PATH[mode])


@pytest.fixture
def page(persistent_server, open_page):
    return open_page(persistent_server + PAGE_PATH["persistent"])


@pytest.fixture(scope="module")
def mnist_test():
    return mnist_test_set()


# ---------------------------------------------------------------- helpers


def api_requests(page):
    """A live list of the requests the page sends to the API."""
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith(API) else None)
    return sent


def pad_area(page, whole=False):
    """Where strokes go on the page: (left, top, width, height) of the square in the middle of
    the canvas, as high as it is, or of the `whole` canvas. Scrolls the canvas into view first
    (Tab to a control further down scrolls the page)."""
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    if whole:
        return box["x"], box["y"], box["width"], box["height"]
    side = min(box["width"], box["height"])
    return box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2, side, side


def pad_aspect(page):
    box = page.locator("#pad").bounding_box()
    return box["width"] / box["height"]


def draw(page, strokes, step_px=6, whole=False):
    """Draw strokes with the mouse: press, many small moves, release. Strokes are in fractions
    of the square in the middle of the canvas, or of the `whole` canvas."""
    left, top, width, height = pad_area(page, whole)
    for stroke in strokes:
        points = [(left + x * width, top + y * height) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            steps = max(1, round(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 / step_px))
            for i in range(1, steps + 1):
                page.mouse.move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        page.mouse.up()


def draw_by_touch(page, strokes, whole=False, step_px=3):
    """Draw strokes with a finger (touch events through the DevTools protocol); strokes as
    for draw()."""
    cdp = page.context.new_cdp_session(page)
    left, top, width, height = pad_area(page, whole)

    def touch(kind, x=0.0, y=0.0):
        points = [] if kind == "touchEnd" else [{"x": left + x * width, "y": top + y * height}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    for stroke in strokes:
        touch("touchStart", *stroke[0])
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
            steps = max(1, round(math.hypot((x1 - x0) * width, (y1 - y0) * height) / step_px))
            for i in range(1, steps + 1):
                touch("touchMove", x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        touch("touchEnd")
    cdp.detach()


def draw_and_wait(page, strokes):
    """Draw in live mode and wait until the answer is on the page."""
    with page.expect_response(lambda r: r.url.endswith(API)) as answer:
        draw(page, strokes)
    assert answer.value.status == 200, answer.value.text()
    wait_idle(page)
    return answer.value


def wait_idle(page):
    from playwright.sync_api import expect

    expect(page.locator("#result")).not_to_have_attribute("aria-busy", "true")


def ink_pixels(page, selector="#pad"):
    """How many pixels of a canvas are painted: not transparent, and not black (the 28x28
    images the model saw, big and on the cards, are white ink on black; the drawing is ink on
    transparency)."""
    return page.locator(selector).evaluate(
        """(c) => {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            const onBlack = c.id === "seen" || c.closest(".piece") !== null;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] > 0 && (!onBlack || d[i] > 0)) n++;
            }
            return n;
        }"""
    )


def shown_scores(page):
    return [float(v) for v in page.locator("#bars .bar-value").all_text_contents()]


def assert_recognised(page, digit):
    """The big digit, the highlighted and longest bar, and the spoken text all say `digit`."""
    from playwright.sync_api import expect

    expect(page.locator("#digit")).to_have_text(str(digit))
    expect(page.locator("#confidence")).to_have_text(re.compile(r"^\d+(\.\d)?\s%\sconfidence$"))
    top = page.locator("#bars li.top")
    expect(top).to_have_count(1)
    assert_bars(page, digit)
    expect(page.locator("#announce")).to_have_text(
        re.compile(rf"^Recognised {digit}( in the uploaded image)? with \d+(\.\d)?\s% confidence$")
    )
    assert page.locator("#alert").is_hidden()
    # the 28x28 image the model saw, shown scaled up and pixelated
    seen = page.locator("#seen")
    assert seen.evaluate("e => [e.width, e.height]") == [28, 28]
    assert ink_pixels(page, "#seen") > 20
    assert seen.evaluate("e => getComputedStyle(e).imageRendering") == "pixelated"
    assert seen.bounding_box()["width"] >= 4 * 28


def assert_bars(page, digit):
    """The bars show scores whose top, highlighted and longest, is `digit`'s."""
    from playwright.sync_api import expect

    top = page.locator("#bars li.top")
    expect(top).to_have_count(1)
    expect(top).to_have_attribute("data-label", str(digit))
    scores = shown_scores(page)  # as printed, to two decimals
    assert scores[digit] == max(scores) and scores[digit] > 0.5, scores
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    widths = [b["width"] for b in (bar.bounding_box() for bar in page.locator("#bars .bar").all())]
    track = page.locator("#bars .bar-track").first.bounding_box()["width"]
    assert widths[digit] == max(widths), widths
    for score, width in zip(scores, widths, strict=True):
        assert width == pytest.approx(score * track, abs=track * 0.01)


def assert_reset(page):
    from playwright.sync_api import expect

    expect(page.locator("#digit")).to_have_text("–")
    expect(page.locator("#bars li.top")).to_have_count(0)
    assert shown_scores(page) == [0.0] * 10
    expect(page.locator("#announce")).to_have_text("")
    expect(page.locator("#pieces .piece")).to_have_count(0)
    assert page.locator("#pad-mark").is_hidden()


def write(page, glyphs, by_touch=False, gap=0.35):
    """Write the glyphs (GLYPHS's names; a string of digits will do) side by side across the
    canvas, with the mouse or a finger, in live mode; wait for the answer to the last stroke.
    Returns the requests sent: one a stroke."""
    strokes = written(glyphs, pad_aspect(page), gap=gap)
    sent = api_requests(page)
    (draw_by_touch if by_touch else draw)(page, strokes, whole=True)
    wait_idle(page)  # busy from the last stroke's request until its answer is shown
    assert len(sent) == len(strokes), "live prediction after each stroke"
    assert sent[-1].response().status == 200
    return sent


def assert_chosen(page, index, digit, count):
    """Card `index` of `count` is the chosen one: pressed, its input shown big, its bars shown
    (the top one `digit`, or grey bars when `digit` is None), its piece outlined on the
    drawing."""
    from playwright.sync_api import expect

    cards = page.locator("#pieces .piece")
    for i in range(count):
        expect(cards.nth(i)).to_have_attribute("aria-pressed", str(i == index).lower())
    which = f"piece {index + 1} of {count}"
    expect(page.locator("#seen-caption")).to_have_text(f"{which} · 28 × 28 px")
    expect(page.locator("#bars")).to_have_attribute(
        "aria-label", f"Score of each digit for {which}, from 0.0 to 1.0"
    )
    if digit is None:
        expect(page.locator("#detail")).to_have_attribute("data-state", "notdigit")
        colours = page.locator("#bars .bar").evaluate_all(
            "bars => bars.map(b => getComputedStyle(b).backgroundColor)"
        )
        assert len(set(colours)) == 1, colours
    else:
        expect(page.locator("#detail")).to_have_attribute("data-state", "done")
        assert_bars(page, digit)
    # the big image is the card's own: the same pixels, once both are decoded
    wait_until(
        page,
        """(i) => {
            const pixels = (c) => Array.from(c.getContext("2d").getImageData(0, 0, 28, 28).data);
            const card = document.querySelectorAll("#pieces .piece canvas")[i];
            const a = pixels(card), b = pixels(document.querySelector("#seen"));
            return a.some((v, k) => k % 4 === 0 && v > 0) && a.every((v, k) => v === b[k]);
        }""",
        index,
    )
    expect(page.locator("#pad-mark")).to_be_visible()
    return page.locator("#pad-mark").bounding_box()


def assert_number(page, number):
    """The page reads `number`: in large type, said to screen readers, a card for each digit
    (none for one digit, which looks as it always did), the first card chosen."""
    from playwright.sync_api import expect

    expect(page.locator("#result")).to_have_attribute("data-state", "done")
    if len(number) == 1:
        assert_recognised(page, int(number))
        expect(page.locator("#answer-label")).to_have_text("Digit")
        expect(page.locator("#pieces .piece")).to_have_count(0)
        assert page.locator("#pieces").is_hidden()
        assert page.locator("#pad-mark").is_hidden()
        return
    expect(page.locator("#digit")).to_have_text(number)
    expect(page.locator("#answer-label")).to_have_text("Number")
    expect(page.locator("#confidence")).to_have_text(re.compile(r"^\d+(\.\d)?\s%\sconfidence$"))
    expect(page.locator("#announce")).to_have_text(
        re.compile(rf"^Recognised the number {number} with \d+(\.\d)?\s% confidence$")
    )
    assert page.locator("#alert").is_hidden()
    cards = page.locator("#pieces .piece")
    expect(cards).to_have_count(len(number))
    for i, digit in enumerate(number):
        card = cards.nth(i)
        assert card.evaluate("e => e.tagName") == "BUTTON"
        expect(card).to_have_accessible_name(
            re.compile(rf"^Piece {i + 1} of {len(number)}: {digit}, \d+(\.\d)?\s% confidence$")
        )
        expect(card.locator(".piece-digit")).to_have_text(digit)
        expect(card.locator(".piece-confidence")).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
    assert_chosen(page, 0, int(number[0]), len(number))


def png_of_mnist(image, mode="PNG", size=280, ink_on_white=True):
    """A real MNIST test digit, upscaled, as a scan or a photo of paper would look."""
    img = Image.fromarray(255 - image if ink_on_white else image, "L")
    img = img.resize((size, size), Image.Resampling.LANCZOS).convert("RGB")
    out = io.BytesIO()
    img.save(out, mode)
    return out.getvalue()


# ---------------------------------------------------------------- tests


def test_page_is_ready_for_a_strict_content_security_policy():
    """No inline code or style, so `default-src 'self'` (which the page itself declares and
    every test below runs under) never has to be relaxed."""
    html = (ROOT / "index.html").read_text()
    assert """content="default-src 'self'""" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "<style> block"
    assert not re.search(r"\sstyle\s*=", html), "style= attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert '<script type="module" src="js/main.js">' in html
    modules = sorted((ROOT / "js").glob("*.js"))  # the page's own, not js/vendor
    for path in modules:
        script = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|\.innerHTML\s*=", script), path.name
        assert not re.search(r"\.style\.[a-zA-Z]+\s*=", script), "set custom properties instead"
    api = (ROOT / "js" / "api.js").read_text()
    assert 'const ENDPOINT = "cgi-bin/mnist.py"' in api, "the API URL must stay relative"


def test_draw_with_mouse_is_recognised(server_page):
    page = server_page
    sent = api_requests(page)
    draw_and_wait(page, SEVEN)
    assert_recognised(page, 7)

    # what went over the wire: a relative URL, JSON of a PNG data URL, transparent, the whole
    # canvas (3:1 here), downscaled to at most 2 x 280 x 280 pixels, and the strokes
    request = sent[-1]
    assert request.method == "POST"
    assert request.url == page.url.rsplit("/", 1)[0] + API
    assert request.headers["content-type"].startswith("application/json")
    body = json.loads(request.post_data)
    assert body["image"].startswith("data:image/png;base64,")
    upload = Image.open(io.BytesIO(base64.b64decode(body["image"].split(",", 1)[1])))
    assert upload.mode == "RGBA" and upload.width * upload.height <= 2 * 280 * 280
    # the pen's strokes, in whole pixels of the image sent, on its ink
    assert len(body["strokes"]) == len(SEVEN)
    alpha = np.asarray(upload)[..., 3]
    for stroke in body["strokes"]:
        assert len(stroke) >= 2 and all(isinstance(v, int) for point in stroke for v in point)
        xs, ys = np.array(stroke).T
        assert (xs >= 0).all() and (xs < upload.width).all() and (ys < upload.height).all()
        assert (alpha[ys, xs] > 128).mean() > 0.9, "the strokes' centre lines lie on their ink"
    assert upload.width / upload.height == pytest.approx(pad_aspect(page), rel=0.02)
    assert upload.height >= 200, "one digit keeps enough pixels"
    assert upload.getpixel((0, 0))[3] == 0, "the canvas background must stay transparent"
    assert upload.getchannel("A").getextrema()[1] == 255, "ink is opaque"

    page.click("#clear")
    draw_and_wait(page, ZERO)
    assert_recognised(page, 0)


@pytest.mark.parametrize("digit", sorted(TWO_STROKES))
def test_digits_drawn_in_two_strokes_are_read(page, digit):
    for stroke in TWO_STROKES[digit]:
        draw_and_wait(page, [stroke])
    assert_recognised(page, digit)


def assert_not_a_digit(page, message):
    """The page says so, gives the closest guess, and shows no digit or highlighted bar."""
    from playwright.sync_api import expect

    expect(page.locator("#result")).to_have_attribute("data-state", "notdigit")
    expect(page.locator("#confidence")).to_have_text(message)
    expect(page.locator("#digit")).to_have_text("?")
    guess = page.locator("#bars li.top").get_attribute("data-label")
    expect(page.locator("#guess")).to_have_text(f"Closest guess: {guess}")
    # grey: the closest guess's bar is coloured like the others, not like an answer
    colours = page.locator("#bars .bar").evaluate_all(
        "bars => bars.map(b => getComputedStyle(b).backgroundColor)"
    )
    assert len(set(colours)) == 1, colours
    assert page.locator("#alert").is_hidden()  # not an error: nothing to scold


@pytest.mark.parametrize(
    "name, strokes", [("A", CAPITAL_A), ("smiley", SMILEY), ("star", STAR), ("scribble", SCRIBBLE)]
)
def test_not_a_digit_is_said_calmly(page, name, strokes):
    from playwright.sync_api import expect

    for stroke in strokes:  # live prediction after each stroke
        draw_and_wait(page, [stroke])
    assert_not_a_digit(page, "Doesn\u2019t look like a digit yet")
    expect(page.locator("#announce")).to_have_text(
        re.compile(r"^Not a digit yet\. Closest guess \d\.$")
    )

    with page.expect_response(lambda r: r.url.endswith(API)):
        page.click("#predict")  # asked for an answer: the plain statement
    wait_idle(page)
    assert_not_a_digit(page, "That doesn\u2019t look like a digit")
    expect(page.locator("#announce")).to_have_text(
        re.compile(r"^That doesn\u2019t look like a digit\. The closest guess is \d\.$")
    )


def test_not_a_digit_in_both_server_modes(server_page):
    draw_and_wait(server_page, CAPITAL_A)
    assert_not_a_digit(server_page, "Doesn\u2019t look like a digit yet")


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("number", "gap"), [("2026", 0.35), ("42", 0.35), ("7", 0.35), ("42", -0.12)]
)
def test_numbers_written_with_the_mouse_are_read(server_page, number, gap):
    """The last: the 4's bar runs into the 2 and the 2's base meets the 4's stem (one stroke
    of ink, cut around it)."""
    write(server_page, number, gap=gap)
    assert_number(server_page, number)


def test_the_page_drawings_read_the_same_by_the_command_line_and_both_servers(
    page, classic_server, persistent_server, tmp_path
):
    """The canvases that the page posts for "2026", "42", "7" and a 5 and a 7 drawn apart,
    saved as PNG files, give the same numbers through `python cgi-bin/mnist.py` and through
    both servers over HTTP as on the page."""
    files = {}
    for glyphs, number in (
        ("2026", "2026"),
        ("42", "42"),
        ("7", "7"),
        (["5 apart", "7 apart"], "57"),
    ):
        page.click("#clear")
        sent = write(page, glyphs)
        assert_number(page, number)
        url = json.loads(sent[-1].post_data)["image"]
        png = base64.b64decode(url.split(",", 1)[1])
        files[number] = tmp_path / f"{number}.png"
        files[number].write_bytes(png)
        for base in (classic_server, persistent_server):
            reply = request(base, body=png, content_type="image/png")
            assert reply.status == 200 and reply.json()["number"] == number, (
                base,
                reply.body[:200],
            )
    status, answers, errors = command_line(*files.values(), timeout=120)
    assert status == 0, errors
    assert [a["number"] for a in answers] == list(files)


def test_a_number_written_by_touch_on_a_phone(request, server, open_page):
    """Both ways of holding a phone, in both server modes; a card is chosen with a tap."""
    from playwright.sync_api import expect

    mode = request.node.callspec.params["server"]
    for screen, number in [("phone", "2026"), ("phone sideways", "42")]:
        page = open_page(server + PAGE_PATH[mode], **SCREENS[screen])
        write(page, number, by_touch=True)
        assert_number(page, number)
        where = page.evaluate("[window.scrollX, window.scrollY, window.visualViewport.scale]")
        assert where == [0, 0, 1], f"writing moved the page (scroll x, y, zoom): {where}"
        page.locator("#pieces .piece").nth(1).tap()
        assert_chosen(page, 1, int(number[1]), len(number))
        expect(page.locator("#digit")).to_have_text(number)


@pytest.mark.parametrize("glyph, digit", [("5 apart", 5), ("7 apart", 7)])
def test_strokes_that_do_not_touch_stay_one_digit(server_page, glyph, digit):
    """The hat of a 5 lifted off its body, the bar of a 7 drawn apart: one digit each, alone
    and side by side in a number."""
    write(server_page, [glyph])
    assert_number(server_page, str(digit))
    server_page.click("#clear")
    write(server_page, ["5 apart", "7 apart"])
    assert_number(server_page, "57")


def test_choosing_a_card_shows_its_bars(page):
    """By click, by the keyboard (Tab, arrows, Home, End, Enter, Space): the chosen card's bars
    and input are shown, and its piece is outlined on the drawing."""
    from playwright.sync_api import expect

    write(page, "2026")
    assert_number(page, "2026")
    cards = page.locator("#pieces .piece")
    pad = page.locator("#pad").bounding_box()
    outlines = []
    for i in [3, 1, 2, 0]:
        cards.nth(i).click()
        outlines.append((i, assert_chosen(page, i, int("2026"[i]), 4)))
    outlines = [box for _, box in sorted(outlines, key=lambda pair: pair[0])]
    for box in outlines:  # each outline lies on the canvas and holds about a digit
        assert pad["x"] <= box["x"] and box["x"] + box["width"] <= pad["x"] + pad["width"]
        assert pad["y"] <= box["y"] and box["y"] + box["height"] <= pad["y"] + pad["height"]
        assert 0.4 * pad["height"] < box["height"] < 0.9 * pad["height"], box
    lefts = [box["x"] for box in outlines]
    assert lefts == sorted(lefts) and len(set(lefts)) == 4, "left to right, one each"

    # the cards come after the drawing's controls in the tab order, before the upload
    page.focus("#live")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement === document.querySelector('#pieces .piece')")
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    page.keyboard.press("Enter")
    assert_chosen(page, 0, 2, 4)
    page.keyboard.press("ArrowRight")
    assert_chosen(page, 1, 0, 4)
    expect(cards.nth(1)).to_be_focused()
    page.keyboard.press("End")
    assert_chosen(page, 3, 6, 4)
    page.keyboard.press("Home")
    assert_chosen(page, 0, 2, 4)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert_chosen(page, 2, 2, 4)
    expect(page.locator("#digit")).to_have_text("2026")  # choosing sends nothing new

    # a new stroke takes the outline away until its answer comes; the first card is chosen
    sent = api_requests(page)
    draw(page, [[(0.9, 0.9), (0.95, 0.95)]], whole=True)
    wait_idle(page)
    assert len(sent) == 1
    page.click("#undo")
    wait_idle(page)
    assert_number(page, "2026")
    page.click("#clear")
    assert_reset(page)


def test_a_piece_that_is_not_a_digit_is_a_question_mark(page):
    """2, A, 6: the number is "2?6" in plain ink, the A's card says "not a digit", its bars
    are grey, and the closest guess is given; gently while drawing, plainly when asked."""
    from playwright.sync_api import expect

    write(page, ["2", "A", "6"], gap=0.9)
    expect(page.locator("#result")).to_have_attribute("data-state", "notdigit")
    expect(page.locator("#digit")).to_have_text("2?6")
    expect(page.locator("#digit .unknown")).to_have_text("?")
    expect(page.locator("#answer-label")).to_have_text("Number")
    expect(page.locator("#confidence")).to_have_text("One piece doesn\u2019t look like a digit yet")
    guess = page.locator("#guess").text_content()
    assert re.fullmatch(r"Closest guess: 2\d6", guess), guess
    expect(page.locator("#announce")).to_have_text(
        re.compile(r"^Not all digits yet: 2, not a digit, 6\. Closest guess 2\d6\.$")
    )
    card = page.locator("#pieces .piece").nth(1)
    expect(card).to_have_accessible_name(
        re.compile(r"^Piece 2 of 3: not a digit, \d+(\.\d)?\s% confidence, closest guess \d$")
    )
    expect(card.locator(".piece-digit")).to_have_text("?")
    expect(card.locator(".piece-confidence").first).to_have_text("not a digit")
    assert_chosen(page, 0, 2, 3)
    card.click()
    assert_chosen(page, 1, None, 3)

    with page.expect_response(lambda r: r.url.endswith(API)):
        page.click("#predict")
    wait_idle(page)
    expect(page.locator("#confidence")).to_have_text("One piece doesn\u2019t look like a digit")
    expect(page.locator("#announce")).to_have_text(
        re.compile(
            r"^One piece doesn\u2019t look like a digit: 2, not a digit, 6\. "
            r"The closest guess is 2\d6\.$"
        )
    )


def test_a_number_uploaded_as_a_file(page, tmp_path):
    """A PNG of a number (the page's own drawing of 42, saved) is read as a number too; its
    pieces are not outlined on the canvas, which holds nothing."""
    from playwright.sync_api import expect

    sent = write(page, "42")
    path = tmp_path / "forty-two.png"
    path.write_bytes(base64.b64decode(json.loads(sent[-1].post_data)["image"].split(",", 1)[1]))
    page.click("#clear")
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.set_input_files("#file", path)
    wait_idle(page)
    expect(page.locator("#digit")).to_have_text("42")
    expect(page.locator("#announce")).to_have_text(
        re.compile(
            r"^Recognised the number 42 in the uploaded image with \d+(\.\d)?\s% confidence$"
        )
    )
    expect(page.locator("#pieces .piece")).to_have_count(2)
    page.locator("#pieces .piece").nth(1).click()
    expect(page.locator("#bars li.top")).to_have_attribute("data-label", "2")
    expect(page.locator("#seen-caption")).to_have_text("piece 2 of 2 · 28 × 28 px")
    assert page.locator("#pad-mark").is_hidden()


def test_too_many_pieces_is_said(page):
    """More separate strokes than any number holds: the server's sentence, no number."""
    from playwright.sync_api import expect

    page.click("label.switch")  # live off: one request, for the whole drawing
    draw(page, [[(0.03 + 0.06 * i, 0.3), (0.03 + 0.06 * i, 0.7)] for i in range(16)], whole=True)
    with page.expect_response(lambda r: r.url.endswith(API)) as answer:
        page.click("#predict")
    wait_idle(page)
    assert answer.value.status == 422
    assert answer.value.json()["error"]["code"] == "too_many_pieces"
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#alert-text")).to_contain_text(
        "separate things: write a number of at most"
    )
    expect(page.locator("#digit")).to_have_text("–")
    expect(page.locator("#pieces .piece")).to_have_count(0)


def test_an_answer_without_digits_is_one_digit(page):
    """An answer as the API gave it before numbers (no `digits`) is shown as one digit."""
    import json

    input_png = io.BytesIO()
    Image.new("L", (28, 28), 0).save(input_png, "PNG")
    scores = [0.0] * 10
    scores[7], scores[1] = 0.93, 0.07
    answer = {
        "digit": 7,
        "number": "7",
        "confidence": 0.93,
        "not_a_digit": 0.01,
        "scores": scores,
        "input": "data:image/png;base64," + base64.b64encode(input_png.getvalue()).decode(),
        "model": "older",
    }
    page.route(
        "**/cgi-bin/mnist.py",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(answer)
        ),
    )
    draw_and_wait(page, ONE)
    from playwright.sync_api import expect

    expect(page.locator("#digit")).to_have_text("7")
    expect(page.locator("#confidence")).to_have_text("93\u00a0% confidence")
    expect(page.locator("#announce")).to_have_text("Recognised 7 with 93\u00a0% confidence")
    assert_bars(page, 7)
    expect(page.locator("#pieces .piece")).to_have_count(0)
    assert page.locator("#pad-mark").is_hidden()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_room_for_a_six_digit_number_on_every_screen(
    persistent_server, open_page, screen, tmp_path
):
    """The canvas is wide (3:1, or 2:1 across a phone held upright), in view, and never makes
    the page scroll sideways; a six-digit number written on it is read and shown on one line
    with its six cards in one row. The pictures are left in a temporary folder."""
    from playwright.sync_api import expect

    options = SCREENS[screen]
    width, height = options["viewport"]["width"], options["viewport"]["height"]
    page = open_page(persistent_server + "/", **options)
    box = page.locator("#pad").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, "the canvas is in view"
    if screen == "phone":
        assert box["width"] >= width - 2 * 26 and box["width"] / box["height"] >= 1.9, box
    else:
        assert box["width"] / box["height"] == pytest.approx(3, rel=0.02), box
    # sharp: one bitmap pixel per device pixel; a pen in proportion to the canvas's height
    ratio = options.get("device_scale_factor", 1)
    assert page.locator("#pad").evaluate("e => [e.width, e.height]") == [
        round(box["width"] * ratio),
        round(box["height"] * ratio),
    ]
    write(page, "502647", by_touch=screen != "desktop", gap=0.3)
    assert_number(page, "502647")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scroll"
    number = page.locator("#digit")
    size = number.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert number.bounding_box()["height"] <= size * 1.3, "the number fits on one line"
    tops = {round(card.bounding_box()["y"]) for card in page.locator("#pieces .piece").all()}
    assert len(tops) == 1, "the six cards in one row"
    expect(page.locator("#pieces")).to_be_visible()
    page.screenshot(path=tmp_path / f"{screen}.png", full_page=True)


def ink_box(page):
    """The drawing's ink box on the canvas bitmap, in fractions of its size: x, y, w, h."""
    return page.locator("#pad").evaluate(
        """(c) => {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let x0 = c.width, y0 = c.height, x1 = -1, y1 = -1;
            for (let y = 0; y < c.height; y++) {
                for (let x = 0; x < c.width; x++) {
                    if (d[(y * c.width + x) * 4 + 3] > 128) {
                        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
                        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
                    }
                }
            }
            return [x0 / c.width, y0 / c.height, (x1 - x0) / c.width, (y1 - y0) / c.height];
        }"""
    )


def test_a_phone_turned_sideways_keeps_the_number(persistent_server, open_page):
    """Written upright, then the phone is turned: the canvas changes its proportions, and the
    drawing keeps its own, centred, whole and sharp, and still reads the same."""
    page = open_page(persistent_server + "/", **SCREENS["phone"])
    write(page, "42", by_touch=True)
    assert_number(page, "42")
    x, y, w, h = ink_box(page)
    aspect = pad_aspect(page)
    page.set_viewport_size({"width": 740, "height": 360})
    wait_until(
        page,
        "document.querySelector('#pad').width === 2 * Math.round("
        "document.querySelector('#pad').getBoundingClientRect().width)",
    )
    turned = pad_aspect(page)
    assert turned == pytest.approx(3, rel=0.02) and aspect < 2.1
    x2, y2, w2, h2 = ink_box(page)
    # as wide, for its height, as before; centred; inside the canvas
    assert (w2 * turned / h2) == pytest.approx(w * aspect / h, rel=0.05)
    assert x2 + w2 / 2 == pytest.approx(x + w / 2, abs=0.02)
    assert y2 + h2 / 2 == pytest.approx(y + h / 2, abs=0.02)
    assert x2 > 0 and y2 > 0 and x2 + w2 < 1 and y2 + h2 < 1, "inside the canvas"
    assert page.locator("#pad-mark").is_hidden(), "the outline does not stay on moved ink"
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.click("#predict")
    wait_idle(page)
    assert_number(page, "42")


def test_touch_drawing_on_a_phone(persistent_server, open_page):
    page = open_page(persistent_server + "/", **SCREENS["phone"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scroll"
    pad = page.locator("#pad")
    assert pad.evaluate("e => getComputedStyle(e).touchAction") == "none"
    # sharp on a high-DPI screen: one bitmap pixel per device pixel
    css_width, bitmap_width = pad.evaluate("e => [e.getBoundingClientRect().width, e.width]")
    assert bitmap_width == round(css_width * 2)
    assert page.evaluate("document.documentElement.scrollHeight") > 740, "the page can scroll"

    # scrolled a little, so a stroke that moved the page would show in either direction
    page.evaluate("window.scrollTo(0, 50)")
    wait_until(page, "window.scrollY === 50")
    box = pad.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 740, "the canvas is in view"
    # the canvas spans the phone's width, wider than high
    assert box["width"] >= 360 - 2 * 26 and box["width"] >= 1.8 * box["height"], box

    sent = api_requests(page)
    draw_by_touch(page, SEVEN)
    # a page that scrolls or zooms under the finger cancels the stroke: no request then
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    where = page.evaluate("[window.scrollX, window.scrollY, window.visualViewport.scale]")
    assert where == [0, 50, 1], f"drawing moved the page (scroll x, y, zoom): {where}"
    assert sent, "the touch stroke sent nothing"
    assert sent[0].response().status == 200
    wait_idle(page)
    assert_recognised(page, 7)


def test_live_mode_predicts_after_each_stroke(page):
    from playwright.sync_api import expect

    expect(page.locator("#live")).to_be_checked()  # on by default
    sent = api_requests(page)
    draw_and_wait(page, ONE)
    assert_recognised(page, 1)
    assert len(sent) == 1


def test_switching_live_off_sends_nothing_until_predict(page):
    from playwright.sync_api import expect

    sent = api_requests(page)
    page.click("label.switch")
    expect(page.locator("#live")).not_to_be_checked()
    draw(page, SEVEN)
    page.wait_for_timeout(700)
    assert sent == []
    assert_reset(page)

    with page.expect_response(lambda r: r.url.endswith(API)):
        page.click("#predict")
    wait_idle(page)
    assert_recognised(page, 7)

    # switched back on with a drawing there, it reads it at once
    page.click("#clear")
    draw(page, ONE)
    page.wait_for_timeout(300)
    assert len(sent) == 1
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.click("label.switch")
    wait_idle(page)
    assert_recognised(page, 1)


def test_undo_removes_the_last_stroke_and_updates_the_result(page):
    sent = api_requests(page)
    draw_and_wait(page, SEVEN)
    assert_recognised(page, 7)
    one_stroke = ink_pixels(page)
    scores_one = shown_scores(page)

    # a second stroke, a ring in the lower left, changes the drawing and the scores
    draw_and_wait(page, [ring(0.3, 0.62, 0.12, 0.14)])
    assert ink_pixels(page) > one_stroke
    assert len(sent) == 2
    assert shown_scores(page) != scores_one

    with page.expect_response(lambda r: r.url.endswith(API)):
        page.click("#undo")
    wait_idle(page)
    assert len(sent) == 3
    assert ink_pixels(page) == pytest.approx(one_stroke, rel=0.03)
    assert_recognised(page, 7)

    # undoing the only stroke leaves an empty canvas and no result, without a request
    page.click("#undo")
    assert ink_pixels(page) == 0
    assert_reset(page)
    assert len(sent) == 3


def test_clear_empties_the_canvas_and_resets_the_result(page):
    draw_and_wait(page, SEVEN)
    assert_recognised(page, 7)
    page.click("#clear")
    assert ink_pixels(page) == 0
    assert ink_pixels(page, "#seen") == 0
    assert_reset(page)


def test_a_late_answer_never_overwrites_a_newer_state(classic_server, open_page):
    """Clear right after a stroke, while its answer is on the way: the answer must not bring
    the old result back. (A CGI request takes far longer than a click.)"""
    page = open_page(classic_server + PAGE_PATH["classic"])
    done = []
    page.on("requestfinished", lambda r: done.append(r) if r.url.endswith(API) else None)
    page.on("requestfailed", lambda r: done.append(r) if r.url.endswith(API) else None)
    draw(page, SEVEN)
    page.click("#clear")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not done and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert done, "the request never ended"
    page.wait_for_timeout(200)
    assert_reset(page)
    assert page.locator("#result").get_attribute("aria-busy") is None


def test_upload_a_png_file(page, mnist_test, tmp_path):
    from playwright.sync_api import expect

    images, labels = mnist_test
    path = tmp_path / "my digit.png"
    path.write_bytes(png_of_mnist(images[1]))  # dark ink on white paper
    sent = api_requests(page)
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.set_input_files("#file", path)
    wait_idle(page)
    assert_recognised(page, int(labels[1]))
    assert sent[0].headers["content-type"] == "image/png"  # the file's own bytes, as they are
    # the picker offers the types the page accepts (set by js/api.js's list)
    assert page.locator("#file").get_attribute("accept") == (
        "image/png,image/jpeg,image/webp,image/gif"
    )
    expect(page.locator("#upload-help")).to_have_text("or drop or paste a PNG, JPEG, WebP or GIF")
    expect(page.locator("#upload-preview")).to_be_visible()
    expect(page.locator("#preview-caption")).to_have_text("my digit.png · 280 × 280 px")
    assert ink_pixels(page, "#preview") > 1000
    expect(page.locator("#announce")).to_contain_text("in the uploaded image")

    # something that is not an image is refused on the page, without a request
    other = tmp_path / "notes.txt"
    other.write_text("seven")
    page.set_input_files("#file", other)
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#alert-text")).to_contain_text("“notes.txt” is not a PNG, JPEG, WebP")
    assert len(sent) == 1

    # a file the system does not label as an image is known by its first bytes
    unlabelled = {
        "name": "scan",
        "mimeType": "application/octet-stream",
        "buffer": png_of_mnist(images[2]),
    }
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.set_input_files("#file", unlabelled)
    wait_idle(page)
    assert sent[-1].headers["content-type"] == "image/png"
    assert_recognised(page, int(labels[2]))


def test_drop_and_paste_an_image(page, mnist_test):
    """Drag and drop (JPEG) and paste from the clipboard (WebP) reach the same endpoint."""
    from playwright.sync_api import expect

    images, labels = mnist_test
    sent = api_requests(page)
    for index, kind, event in [(0, "JPEG", "drop"), (3, "WEBP", "paste")]:
        data = png_of_mnist(images[index], kind)
        mime = f"image/{kind.lower()}"
        with page.expect_response(lambda r: r.url.endswith(API)):
            page.evaluate(
                """([b64, mime, event]) => {
                    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                    const data = new DataTransfer();
                    data.items.add(new File([bytes], "digit", { type: mime }));
                    const target = document.querySelector("#pad");
                    if (event === "drop") {
                        for (const type of ["dragenter", "dragover", "drop"]) {
                            target.dispatchEvent(new DragEvent(type, {
                                dataTransfer: data, bubbles: true, cancelable: true }));
                        }
                    } else {
                        target.dispatchEvent(new ClipboardEvent("paste", {
                            clipboardData: data, bubbles: true, cancelable: true }));
                    }
                }""",
                [base64.b64encode(data).decode(), mime, event],
            )
        wait_idle(page)
        assert sent[-1].headers["content-type"] == mime
        assert_recognised(page, int(labels[index]))
        expect(page.locator("#upload-preview")).to_be_visible()
    expect(page.locator("#preview-caption")).to_contain_text("Pasted image")
    assert "dragging" not in (page.locator("body").get_attribute("class") or "")


def test_predict_on_a_blank_canvas_shows_a_hint(page):
    from playwright.sync_api import expect

    sent = api_requests(page)
    page.click("#predict")
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#alert .alert-icon")).to_be_visible()
    expect(page.locator("#alert-text")).to_contain_text(BLANK_HINT)
    page.wait_for_timeout(300)
    assert sent == []
    assert_reset(page)
    # and the page still works
    draw_and_wait(page, ONE)
    assert_recognised(page, 1)


def test_server_errors_are_shown(server, server_page, tmp_path):
    """Real refusals from both servers (the classic one answers 200 with a `Status:` header)
    appear as a sentence with its icon; a blank image gets the drawing hint."""
    from playwright.sync_api import expect

    page = server_page
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"this is not an image" * 10)
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.set_input_files("#file", broken)
    # what the server says about these bytes, asked directly
    message = request(server, body=broken.read_bytes(), content_type="image/png").json()["error"][
        "message"
    ]
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#alert .alert-icon")).to_be_visible()
    expect(page.locator("#alert-text")).to_contain_text(message[1:].rstrip("."))
    expect(page.locator("#digit")).to_have_text("–")

    blank = tmp_path / "blank.png"
    Image.new("RGBA", (280, 280), (0, 0, 0, 0)).save(blank)
    assert (
        request(server, body=blank.read_bytes(), content_type="image/png").json()["error"]["code"]
        == "blank"
    )
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.set_input_files("#file", blank)
    expect(page.locator("#alert-text")).to_contain_text(BLANK_HINT)
    wait_idle(page)
    assert_reset(page)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            {
                "status": 500,
                "content_type": "application/json",
                "body": '{"error": {"code": "internal", "message": "Something went wrong on the '
                'server. Please try again."}}',
            },
            "Something went wrong on the server. Please try again.",
        ),
        (
            {"status": 502, "content_type": "text/html", "body": "<h1>Bad gateway</h1>"},
            "The server ran into a problem (HTTP 502",
        ),
        (
            {
                "status": 413,
                "content_type": "application/json",
                "body": '{"error": {"code": "payload_too_large", "message": "too large"}}',
            },
            "Too large.",
        ),
        (
            {
                "status": 422,
                "content_type": "application/json",
                "body": '{"error": {"code": "blank", "message": "nothing drawn"}}',
            },
            BLANK_HINT,
        ),
        ("abort", "Cannot reach the server"),
    ],
    ids=["500-json", "502-html", "413", "422-blank", "unreachable"],
)
def test_error_display(page, reply, expected):
    from playwright.sync_api import expect

    if reply == "abort":
        page.route("**/cgi-bin/mnist.py", lambda route: route.abort("connectionrefused"))
    else:
        page.route("**/cgi-bin/mnist.py", lambda route: route.fulfill(**reply))
    draw(page, SEVEN)
    alert = page.locator("#alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(page.locator("#alert .alert-icon")).to_be_visible()
    expect(page.locator("#alert-text")).to_contain_text(expected)
    expect(page.locator("#digit")).to_have_text("–")
    assert page.locator("#result").get_attribute("aria-busy") is None

    # once the server answers again, the message goes away
    page.unroute("**/cgi-bin/mnist.py")
    with page.expect_response(lambda r: r.url.endswith(API)):
        page.click("#predict")
    wait_idle(page)
    assert_recognised(page, 7)


def test_keyboard(page):
    from playwright.sync_api import expect

    # Tab reaches every control, in order, each with a visible focus ring
    controls = ["predict", "undo", "clear", "live", "explain-summary"]
    controls += [f"sample-{i + 1}" for i in range(len(SAMPLES))] + ["choose"]
    expect(page.locator("#sample-row .sample")).to_have_count(len(SAMPLES))
    page.locator("body").focus()
    reached = []
    for _ in controls:
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
        ring_on = "+ .switch-track" if reached[-1] == "live" else ""
        ring = page.evaluate(
            f"""() => {{
                const el = document.activeElement;
                const shown = document.querySelector("#" + el.id + " {ring_on}".trim());
                const s = getComputedStyle(shown);
                return [el.matches(":focus-visible"), s.outlineStyle, parseFloat(s.outlineWidth)];
            }}"""
        )
        assert ring[0] and ring[1] != "none" and ring[2] >= 2, (reached[-1], ring)
    assert reached == controls

    sent = api_requests(page)
    page.click("label.switch")  # live off: only the keyboard sends
    page.locator("body").focus()
    draw(page, SEVEN)
    draw(page, [[(0.6, 0.8), (0.8, 0.8)]])
    two_strokes = ink_pixels(page)
    assert sent == []

    page.keyboard.press("Control+z")
    assert 0 < ink_pixels(page) < two_strokes

    with page.expect_response(lambda r: r.url.endswith(API)):
        page.keyboard.press("Enter")
    wait_idle(page)
    assert_recognised(page, 7)

    page.keyboard.press("Escape")
    assert ink_pixels(page) == 0
    assert_reset(page)

    # Enter on a button is that button, not Predict
    page.focus("#clear")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert len(sent) == 1
    expect(page.locator("#alert")).to_be_hidden()


# ---------------------------------------------------------------- how did it read this?


def explain_requests(page):
    """A live list of the requests the page sends to the API asking for explain."""
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith(EXPLAIN) else None)
    return sent


def open_explain(page):
    """Open "How did it read this?" and wait for its pictures: the explain request it sends
    and its answer's JSON."""
    from playwright.sync_api import expect

    with page.expect_response(lambda r: r.url.endswith(EXPLAIN)) as reply:
        page.click("#explain summary")
    assert reply.value.status == 200, reply.value.text()
    expect(page.locator("#explain")).not_to_have_attribute("aria-busy", "true")
    return reply.value.json()


def assert_explained(page, entry, index=0, count=1):
    """The open section shows piece `index` of `count` through every step, with the pictures
    of `entry` (the explain answer's entry for it): each one visible, painted, named for
    screen readers, and scaled up pixel by pixel where it is pixel art."""
    from playwright.sync_api import expect

    explain = entry["explain"]
    steps = page.locator("#explain-steps > li")
    expect(steps).to_have_count(6)
    for i in range(6):
        expect(steps.nth(i).locator("h3")).to_be_visible()
        assert len(steps.nth(i).locator("p").first.inner_text().split()) >= 8, i
    expect(page.locator("#explain .explain-wait:visible")).to_have_count(0)
    where = f"piece {index + 1} of {count}" if count > 1 else "the ink that was found"
    expect(page.locator("#explain-drawing")).to_have_attribute(
        "aria-label", re.compile(rf"^(Your drawing|The image), with {where} in a dashed box$")
    )
    layers = explain["layers"]
    names = [layer["name"] for layer in layers]
    assert names[0] == "conv1" and len(names) >= 2, names
    captions = page.locator("#explain .layers figcaption")
    expect(captions).to_have_count(len(layers))
    for caption, layer in zip(captions.all(), layers, strict=True):
        h, w, c = layer["shape"]
        expect(caption).to_have_text(f"{layer['name']} · {c} maps of {h}\u00a0×\u00a0{w}\u00a0px")
    first = page.locator("#explain-first canvas")
    h, w, c = layers[0]["shape"]
    expect(first).to_have_attribute(
        "aria-label", re.compile(rf"^{c} feature maps, {h} by {w} pixels each: .*first convolution")
    )
    heat = page.locator("#explain-heat figcaption strong")
    expect(heat).to_have_text(
        [re.compile(rf"^Why {explain['digit']}\b"), f"Why not {explain['runner_up']['digit']}?"]
    )
    expect(page.locator("#explain-scores li.top .mini-label")).to_have_text(
        str(entry["scores"].index(max(entry["scores"])))
    )
    # every picture is on show and painted: the drawing, the input, the layers, the heat maps
    canvases = page.locator("#explain-steps canvas")
    expect(canvases).to_have_count(2 + len(layers) + 2)
    wait_until(
        page,
        """() => Array.from(document.querySelectorAll("#explain-steps canvas")).every((c) => {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let first = -1;
            for (let i = 0; i < d.length; i += 4) {
                const v = d[i] + 256 * d[i + 1] + 65536 * d[i + 2] + 16777216 * d[i + 3];
                if (first < 0) first = v;
                else if (v !== first) return true;
            }
            return false;
        })""",
    )
    for canvas in canvases.all():
        expect(canvas).to_be_visible()
        assert canvas.get_attribute("role") == "img"
        assert len(canvas.get_attribute("aria-label")) > 20
        if "pixels" in canvas.get_attribute("class"):
            assert canvas.evaluate("e => getComputedStyle(e).imageRendering") == "pixelated"
            natural, room = canvas.evaluate("e => [e.width, e.closest('li').clientWidth]")
            width = canvas.bounding_box()["width"]
            assert width >= min(1.9 * natural, room - 2), "scaled up, or as wide as the step"
            assert width > natural


def test_explain_opens_and_shows_the_pictures(server_page):
    """Closed by default, no explain request until it is opened; opened, one request with
    ?explain=1 brings every step's pictures for the drawing on show; the plain answer is asked
    for as before."""
    from playwright.sync_api import expect

    page = server_page
    plain, explained = api_requests(page), explain_requests(page)
    section = page.locator("#explain")
    assert section.evaluate("e => e.tagName") == "DETAILS"
    expect(section).not_to_have_attribute("open", "")
    expect(page.locator("#explain-steps")).to_be_hidden()
    draw_and_wait(page, SEVEN)
    assert_recognised(page, 7)
    page.wait_for_timeout(300)
    assert len(plain) == 1 and not explained, "the plain answer only, while it is closed"

    answer = open_explain(page)
    assert len(explained) == 1 and len(plain) == 1
    assert explained[0].post_data == plain[0].post_data, "the same drawing"
    entry = answer["digits"][0]
    assert entry["digit"] == 7
    assert_explained(page, entry)
    expect(page.locator("#explain-heat figcaption strong").first).to_have_text("Why 7?")

    # closed and opened again, with the keyboard: the pictures are kept, nothing more is asked
    page.focus("#explain summary")
    page.keyboard.press("Enter")
    expect(section).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")
    expect(section).to_have_attribute("open", "")
    page.wait_for_timeout(300)
    assert len(explained) == 1
    assert_explained(page, entry)

    # open, a new drawing is explained as soon as it is read
    page.click("#clear")
    expect(page.locator("#explain-steps")).to_be_hidden()
    with page.expect_response(lambda r: r.url.endswith(EXPLAIN)) as reply:
        draw_and_wait(page, ZERO)
    assert_recognised(page, 0)
    expect(page.locator("#explain")).not_to_have_attribute("aria-busy", "true")
    assert_explained(page, reply.value.json()["digits"][0])


def test_explain_follows_the_chosen_card(page):
    from playwright.sync_api import expect

    write(page, "42")
    assert_number(page, "42")
    explained = explain_requests(page)
    answer = open_explain(page)
    assert [e["digit"] for e in answer["digits"]] == [4, 2]
    assert_explained(page, answer["digits"][0], 0, 2)
    expect(page.locator("#explain-heat figcaption strong").first).to_have_text("Why 4?")
    page.locator("#pieces .piece").nth(1).click()
    assert_explained(page, answer["digits"][1], 1, 2)
    expect(page.locator("#explain-heat figcaption strong").first).to_have_text("Why 2?")
    assert len(explained) == 1, "one request explains every piece"


def test_explain_from_a_server_without_pictures(page):
    """An answer to ?explain=1 without `explain` (an older server): the steps that need no
    pictures are shown, the others say why they are empty; the plain answer is untouched."""
    from playwright.sync_api import expect

    scores = [0.0] * 10
    scores[7] = 1.0
    old = {"digit": 7, "number": "7", "confidence": 0.99, "scores": scores, "input": None}
    page.route(
        "**/cgi-bin/mnist.py?explain=1",
        lambda route: route.fulfill(json={**old, "digits": [{**old, "box": [0, 0, 9, 9]}]}),
    )
    draw_and_wait(page, SEVEN)
    open_explain(page)
    assert_recognised(page, 7)
    waits = page.locator("#explain .explain-wait:visible")
    expect(waits).to_have_count(3)
    expect(waits.first).to_have_text(re.compile("does not send the pictures"))
    expect(page.locator("#explain-drawing")).to_be_visible()
    expect(page.locator("#explain-scores li.top .mini-label")).to_have_text("7")
    expect(page.locator("#explain-heat canvas")).to_have_count(0)


def test_explain_fits_on_a_phone(persistent_server, open_page):
    """360 CSS px wide, upright: every step and picture fits across the screen."""
    page = open_page(persistent_server + "/", **SCREENS["phone"])
    draw_by_touch(page, SEVEN)
    wait_idle(page)
    assert_recognised(page, 7)
    answer = open_explain(page)
    assert_explained(page, answer["digits"][0])
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    for item in page.locator(
        "#explain-steps canvas, #explain-steps figure, #explain-steps p:visible"
    ).all():
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, item.evaluate("e => e.outerHTML")


def test_examples_to_try(server_page):
    """A row of the samples, each named by its honest caption; a click, a tap or the keyboard
    reads one as an uploaded image is read, and explains it too."""
    from playwright.sync_api import expect

    page = server_page
    buttons = page.locator("#sample-row .sample")
    expect(buttons).to_have_count(len(SAMPLES))
    for button, sample in zip(buttons.all(), SAMPLES, strict=True):
        assert button.evaluate("e => e.tagName") == "BUTTON"
        expect(button).to_have_attribute("title", sample["caption"])
        expect(button).to_have_accessible_name(f"Example: {sample['caption']}")
        image = button.locator("img")
        wait_until(page, "(i) => i.complete && i.naturalWidth > 0", image.element_handle())
    by_file = {s["file"]: i for i, s in enumerate(SAMPLES)}

    def pick(file, keyboard=False):
        button = buttons.nth(by_file[file])
        with page.expect_response(lambda r: r.url.endswith(API)) as reply:
            if keyboard:
                button.focus()
                page.keyboard.press("Enter")
            else:
                button.click()
        assert reply.value.status == 200
        assert reply.value.request.headers["content-type"] == "image/png"
        wait_idle(page)
        caption = SAMPLES[by_file[file]]["caption"]
        expect(page.locator("#preview-caption")).to_have_text(re.compile(re.escape(caption)))
        return reply.value.json()

    pick("digit-7.png")
    expect(page.locator("#digit")).to_have_text("7")
    expect(page.locator("#announce")).to_have_text(
        re.compile(r"^Recognised 7 in the example with \d+(\.\d)?\s% confidence$")
    )
    # the one it gets wrong, honestly: read as another digit, and its caption says so
    (wrong_sample,) = [s for s in SAMPLES if s["kind"] == "wrong"]
    wrong = pick(wrong_sample["file"], keyboard=True)
    assert wrong["digit"] is not None and str(wrong["digit"]) != wrong_sample["label"]
    expect(page.locator("#digit")).to_have_text(str(wrong["digit"]))
    assert f"it is a {wrong_sample['label']}" in wrong_sample["caption"]
    pick("number-2026.png")
    expect(page.locator("#digit")).to_have_text("2026")
    expect(page.locator("#pieces .piece")).to_have_count(4)
    pick("letter-A.png")
    expect(page.locator("#result")).to_have_attribute("data-state", "notdigit")
    expect(page.locator("#confidence")).to_have_text("That doesn\u2019t look like a digit")

    # the section explains an example as it explains a drawing
    pick(next(s["file"] for s in SAMPLES if s["kind"] == "hard"))
    answer = open_explain(page)
    assert_explained(page, answer["digits"][0])
    expect(page.locator("#explain-drawing")).to_have_attribute("data-kind", "sample")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot(persistent_server, open_page, scheme, tmp_path):
    """A recognised digit, then the number 2026, then a drawn 7 and a drawn 4 with "How did it
    read this?" open, in both colour schemes, on a page of full size. With MNISTDRAW_SCREENSHOT
    set to a path (`make screenshot`), the light ones are written there and as number.png,
    explain-7.png and explain-4.png beside it, README's pictures; otherwise nothing outside a
    temporary folder is written."""
    page = open_page(
        persistent_server + "/",
        viewport={"width": 1100, "height": 800},
        color_scheme=scheme,
        reduced_motion="no-preference",
    )
    draw_and_wait(page, SEVEN)
    page.wait_for_timeout(500)  # let the bars finish their transition
    assert_recognised(page, 7)
    page.mouse.move(0, 0)
    readme_picture = os.environ.get("MNISTDRAW_SCREENSHOT")
    if scheme == "light" and readme_picture:
        target = Path(readme_picture)
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        target = tmp_path / f"{scheme}.png"
    page.screenshot(path=target, full_page=True)
    with Image.open(target) as shot:
        assert shot.width == 1100

    page.click("#clear")
    write(page, "2026")
    page.wait_for_timeout(500)
    assert_number(page, "2026")
    page.mouse.move(0, 0)
    target = target.with_name("number.png")
    page.screenshot(path=target, full_page=True)
    with Image.open(target) as shot:
        assert shot.width == 1100

    for digit, strokes in [(7, SEVEN), (4, TWO_STROKES[4])]:
        page.click("#clear")
        for stroke in strokes:
            draw_and_wait(page, [stroke])
        page.wait_for_timeout(500)  # let the bars finish their transition
        assert_recognised(page, digit)
        answer = open_explain(page)
        assert_explained(page, answer["digits"][0])
        page.wait_for_timeout(500)
        page.mouse.move(0, 0)
        target = target.with_name(f"explain-{digit}.png")
        page.screenshot(path=target, full_page=True)
        with Image.open(target) as shot:
            assert shot.width == 1100
        page.click("#explain summary")  # closed: the next drawing is explained when opened


def test_digits_that_overlap_are_read_from_the_strokes_drawn(server_page):
    """Digits written so close that they overlap, as people do: the page sends its strokes,
    and the server tells the digits apart by them (the image alone reads no number here)."""
    page = server_page
    for text, gap in (("4750", -0.12), ("2026", -0.2)):
        page.click("#clear")
        sent = write(page, text, gap=gap)
        assert len(json.loads(sent[-1].post_data)["strokes"]) == len(written(text, 3.0, gap=gap))
        assert_number(page, text)
