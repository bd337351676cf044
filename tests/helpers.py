"""What several test files share: the seed images, a PNG builder for hand-made (and broken)
files, and the property that the API answers any input sanely.

Nothing here imports mnistdraw at import time: tests/test_fuzz.py imports this module before
atheris instruments mnistdraw."""

import json
import struct
import subprocess
import sys
import zlib

from mnistdraw import ROOT

SEEDS = ROOT / "tests" / "fuzz-corpus" / "seeds"  # small real images of every accepted kind
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def seed(name: str) -> bytes:
    return (SEEDS / name).read_bytes()


def seeds() -> list[bytes]:
    return [p.read_bytes() for p in sorted(SEEDS.iterdir()) if p.is_file()]


# ----------------------------------------------------------------- PNG files by hand


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(
    width: int,
    height: int,
    scanlines: bytes,
    depth: int = 8,
    colour: int = 0,
    interlace: int = 0,
    extra: list[tuple[bytes, bytes]] = (),
    compress: bool = True,
) -> bytes:
    """A PNG file whose header fields may hold any value, valid or not: IHDR with these fields
    (colour 0 is grey), the `extra` (type, data) chunks, one IDAT with the scanlines (each
    starting with its filter byte; zlib-compressed unless `compress` is false), and IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    idat = zlib.compress(scanlines, 9) if compress else scanlines
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + b"".join(png_chunk(kind, data) for kind, data in extra)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


# ----------------------------------------------------------------- the API's property


def assert_answered(body: bytes, content_type: str, method: str = "POST"):
    """`api.handle` answers any request: never a 5xx, always JSON; a 200 carries, for each
    thing drawn, ten scores that sum to 1, the probability that it is not a digit, and the
    digit with the top score (or none, when it is not a digit), and the number they make;
    anything else an error with a code and a message and no traceback. Returns the answer."""
    from mnistdraw import api

    answer = api.handle(method, {"Content-Type": content_type}, body)
    assert 200 <= answer.status < 500, answer.payload
    document = json.loads(answer.body())
    assert document == answer.payload
    if answer.status == 200:
        entries = document["digits"]
        for entry in entries:
            scores, digit = entry["scores"], entry["digit"]
            assert len(scores) == 10 and abs(sum(scores) - 1) < 1e-3, scores
            assert 0 <= entry["not_a_digit"] <= 1, entry
            assert digit in (None, max(range(10), key=scores.__getitem__)), entry
        digits = [entry["digit"] for entry in entries]
        number = None if None in digits else "".join(map(str, digits))
        assert document["number"] == number, document
        assert 0 <= document["not_a_digit"] <= 1 and 0 <= document["confidence"] <= 1, document
        if len(entries) == 1:  # one thing drawn: the top level is its entry, as it always was
            for field in ("digit", "confidence", "not_a_digit", "scores", "input"):
                assert document[field] == entries[0][field], field
        else:
            assert document["digit"] is document["scores"] is document["input"] is None
    else:
        assert set(document) == {"error"}, document
        error = document["error"]
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["message"], str) and error["message"], error
        assert "Traceback" not in error["message"]
    return answer


def check_bytes(blob: bytes) -> None:
    """The fuzzing property for one input: `preprocess` returns MNIST-shaped pixels or refuses
    with a 4xx error; `api.handle`, sent the bytes with a content type picked by their length
    (so that a mutation changes it), answers as `assert_answered` says and, for image bytes,
    with the status that segmenting it implies. Returns quietly, or raises (an AssertionError or the
    unexpected exception itself)."""
    import numpy as np

    from mnistdraw import api, preprocess, segment

    try:
        pixels = preprocess.preprocess(blob)
    except preprocess.PreprocessError as exc:
        assert 400 <= api.refusal(exc).status < 500, exc.code
    else:
        assert isinstance(pixels, np.ndarray), type(pixels)
        assert pixels.dtype == np.float32 and pixels.shape == (28, 28), (pixels.dtype, pixels.shape)
        assert np.isfinite(pixels).all() and pixels.min() >= 0 and pixels.max() <= 1
    try:  # what the API reads: one digit or several things
        pieces, _ = segment.segment(preprocess.decode(blob), api.recognizer().read)
    except preprocess.PreprocessError as exc:
        expected = api.refusal(exc).status
        assert 400 <= expected < 500, (expected, exc.code)
    else:
        expected = 200
        assert 1 <= len(pieces) <= segment.MAX_PIECES
    content_types = api.IMAGE_TYPES + api.SNIFFED_TYPES + ("application/json",)
    content_type = content_types[len(blob) % len(content_types)]
    answer = assert_answered(blob, content_type)
    if content_type in api.IMAGE_TYPES and blob.strip():
        assert answer.status == expected, (answer.status, expected, answer.payload)


def page_request(strokes, width=14, transparent=True, side=280) -> bytes:
    """page_canvas's drawing posted as the page posts it: JSON of its PNG data URL and its
    strokes, each a point every 3 px along its lines, in whole pixels."""
    import base64
    import json

    import numpy as np

    png = page_canvas(strokes, width, transparent, side)
    points = []
    for line in strokes:
        dense = [line[0]]
        for (x0, y0), (x1, y1) in zip(line, line[1:], strict=False):
            steps = max(1, round(np.hypot(x1 - x0, y1 - y0) / 3))
            dense += [
                (x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
                for k in range(1, steps + 1)
            ]
        points.append(np.round(dense).astype(int).tolist())
    image = "data:image/png;base64," + base64.b64encode(png).decode()
    return json.dumps({"image": image, "strokes": points}).encode()


def page_canvas(strokes, width=14, transparent=True, side=280) -> bytes:
    """Polylines drawn as the page draws them: black, round ends, on a transparent (or
    white) canvas of the page's size, as PNG bytes."""
    from PIL import Image, ImageDraw

    from mnistdraw import drawings

    ink = Image.new("L", (side, side), 0)
    pen = ImageDraw.Draw(ink)
    for line in strokes:
        pen.line(line, fill=255, width=width, joint="curve")
        for x, y in (line[0], line[-1]):
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return drawings.encode(drawings.as_canvas(ink, transparent))


def command_line(*paths, timeout: float) -> tuple[int, list[dict], str]:
    """`python cgi-bin/mnist.py PATH...`, as a user runs it, within `timeout` seconds: its
    exit status, its answers (one JSON object a file) and what it wrote to stderr."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "cgi-bin" / "mnist.py"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr
