"""Make any image of a digit look like an MNIST digit.

MNIST digits were size-normalised to fit a 20x20 box (aspect ratio kept, anti-aliased) and
centred in 28x28 by their centre of mass; their strokes are 2-4.5 px wide. A drawing goes
through the same steps, and its stroke width is brought into that range first:

1. decode, bounded; ink from the alpha channel when the image has transparency, otherwise
   from luminance relative to the local background (handles light or dark backgrounds,
   colour ink and photos of paper under uneven light);
2. find the ink and its bounding box; nothing there, faint noise or a lone dot is `blank`;
3. scale the box to a 4x working size, thicken hairlines and thin very thick strokes;
4. scale the box so its longer side is 20 px (anti-aliased);
5. paste into 28x28 so that the centre of mass lands where MNIST's does.
"""

import io
import warnings

import cv2
import numpy as np
import pyspng
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 16_000_000  # decoded width x height; beyond that: image_too_large
WORK_SIDE = 512  # larger images are reduced to this longer side before any float work
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")

BOX = 20  # MNIST's digit box
FINE = 4 * BOX  # working size of the digit box for stroke-width corrections
MNIST_CENTRE = 14.0  # mean centre of mass of MNIST training digits, in pixel indices
STROKE_TARGET = 2.8 * FINE / BOX  # MNIST median stroke width, in FINE pixels
THINNEST, THICKEST = 0.75, 1.6  # outside this band (x STROKE_TARGET) strokes are corrected
MIN_CONTRAST = 0.2  # strongest ink below this (0-1) is faint noise, not a drawing
NOISE_FLOOR = 0.3  # after contrast normalisation, ink below this is background
MIN_EXTENT = 0.02  # ink whose box is below 2 % of the image's longer side is a speck

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses decompression bombs above twice this


class PreprocessError(ValueError):
    """An input that cannot become a digit. `code` names it in mnistdraw/errors.py, which
    gives its status and message; `fields` fill in the message."""

    def __init__(self, code: str, **fields):
        super().__init__(code, fields)
        self.code, self.fields = code, fields


def blank(reason: str) -> PreprocessError:
    return PreprocessError("blank", reason=reason)


def too_many_pixels() -> PreprocessError:
    return PreprocessError("image_too_large", limit=MAX_PIXELS)


def decode(blob: bytes) -> Image.Image:
    """Open and fully decode an image (first frame), refusing anything too big or broken."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(blob), formats=FORMATS)
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError
            if image.format == "PNG" and image.mode == "RGBA":
                # a canvas, as the page sends: libspng decodes it in a third of Pillow's time
                # (0.10 against 0.31 ms at 280x280), and decoding was a third of a request
                return Image.fromarray(pyspng.load(blob, "RGBA"))
            if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that suffices
                image.draft("RGB", (WORK_SIDE, WORK_SIDE))
            image.load()
            if image.format == "JPEG":  # photos: honour the camera's orientation
                image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        raise PreprocessError("not_an_image") from exc
    # Pillow's errors on bad data, and libspng's one (RuntimeError: truncated, bad CRC, ...)
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        raise PreprocessError("corrupt_image") from exc
    return image


def _reduce(image: Image.Image) -> Image.Image:
    factor = -(-max(image.size) // WORK_SIDE)  # ceil
    if factor == 1:
        return image
    if image.mode in ("1", "P", "PA") or image.mode.startswith("I;16"):
        # Pillow cannot reduce palette, bilevel and 16-bit images as they are
        image = image.convert("RGBA" if _has_transparency(image) else "L")
    return image.reduce(factor)


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _box_filter(a: np.ndarray, size: int, op) -> np.ndarray:
    """Grey dilation (op=np.maximum) or erosion (np.minimum) with a size x size square,
    separable; beyond the border counts as the border pixel itself."""
    for axis in (0, 1):
        out = a.copy()
        for k in range(1, size // 2 + 1):
            ahead = [slice(None)] * 2
            behind = [slice(None)] * 2
            ahead[axis], behind[axis] = slice(k, None), slice(None, -k)
            op(out[tuple(ahead)], a[tuple(behind)], out=out[tuple(ahead)])
            op(out[tuple(behind)], a[tuple(ahead)], out=out[tuple(behind)])
        a = out
    return a


def ink_map(image: Image.Image) -> np.ndarray:
    """Ink as float32 in [0, 1] (1 = full ink), at most WORK_SIDE on the longer side."""
    image = _reduce(image)
    if _has_transparency(image):
        if "A" not in image.getbands():  # palette or "transparency" key: expand it first
            image = image.convert("RGBA")
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 253:  # a canvas that was never filled: the strokes are the alpha
            return alpha * np.float32(1 / 255)
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255
    # The background, ink removed: a grey closing at 1/16 scale lifts dark strokes out and
    # follows smooth changes of light across a photographed page.
    h, w = grey.shape
    small_size = (max(1, round(w / 16)), max(1, round(h / 16)))
    small = np.asarray(Image.fromarray(grey).resize(small_size, Image.Resampling.BOX))
    if np.median(small) < 0.5:  # light ink on a dark background: make it dark on light
        grey, small = 1 - grey, 1 - small
    paper = float(np.median(small))
    dilated = _box_filter(small, 5, np.maximum)
    closed = _box_filter(dilated, 5, np.minimum)
    if dilated.min() < paper / 2:
        # Ink wider than the closing (a filled blob, a huge marker stroke) would be taken for
        # background and read as a ring of its edges: measure it against the paper instead.
        closed = np.full_like(small, paper)
    background = np.asarray(Image.fromarray(closed).resize((w, h), Image.Resampling.BILINEAR))
    background = np.maximum(background, grey)
    return (background - grey) / np.maximum(background, 0.05)  # darkness relative to paper


def strongest_ink(ink: np.ndarray) -> float:
    """The strongest ink, as the largest mean of a 2x2 block: a single hot pixel is not ink."""
    h, w = ink.shape
    if min(h, w) < 2:
        return float(ink.max())
    # OpenCV's area reduction by exactly 2 gives the 2x2 block means, in half numpy's time
    even = ink[: h // 2 * 2, : w // 2 * 2]
    return float(cv2.resize(even, (w // 2, h // 2), interpolation=cv2.INTER_AREA).max())


def normalise_ink(ink: np.ndarray, strongest: float) -> np.ndarray:
    """Scale the strongest ink to 1 and drop what is too faint to be a stroke."""
    return np.clip((ink / strongest - NOISE_FLOOR) / (1 - NOISE_FLOOR), 0, 1, dtype=np.float32)


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    """`a` inside a border of n zeros: np.pad's constant mode without its ~10 us of overhead."""
    h, w = a.shape
    out = np.zeros((h + 2 * n, w + 2 * n), a.dtype)
    out[n : n + h, n : n + w] = a
    return out


def bbox(mask: np.ndarray):
    """(top, bottom, left, right) of a boolean mask's True pixels, or None."""
    left, top, width, height = cv2.boundingRect(mask.view(np.uint8))  # numpy's any(): 2x slower
    if width == 0:
        return None
    return top, top + height, left, left + width


def _resize(a: np.ndarray, longer_side: int) -> np.ndarray:
    """Resize so the longer side is longer_side, keeping the aspect ratio, anti-aliased."""
    h, w = a.shape
    scale = longer_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(a).resize(size, method))


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: twice the area over the perimeter of the inked shape
    (exact for long strokes; a round dot gives its radius)."""
    solid = _pad(ink > 0.5, 1)  # beyond the box is background: its edges are perimeter
    inner = solid.copy()
    inner[1:] &= solid[:-1]
    inner[:-1] &= solid[1:]
    inner[:, 1:] &= solid[:, :-1]
    inner[:, :-1] &= solid[:, 1:]
    perimeter = np.count_nonzero(solid & ~inner)
    return 2 * np.count_nonzero(solid) / perimeter if perimeter else 0.0


def is_dot(fine: np.ndarray, width: float) -> bool:
    """A dot or a filled blob: ink no longer than a few stroke widths, measured on the ink
    itself, not on the box with its anti-aliased fringe (with that margin a dot of 6-8 px on
    a 280 px canvas looked long enough to be a stroke)."""
    top, bottom, left, right = bbox(fine > 0.5) or (0, 0, 0, 0)
    return max(bottom - top, right - left) < 2.5 * width


def normalise_strokes(fine: np.ndarray, width: float) -> np.ndarray:
    """Bring the stroke width of a FINE-sized digit into MNIST's range: thicken hairlines
    (they would fade to nothing at 20 px) and thin very thick strokes (they fill the holes)."""
    if width < THINNEST * STROKE_TARGET:
        steps = round((STROKE_TARGET - width) / 2)  # each 3x3 dilation adds 2 px of width
        fine = _pad(fine, steps)
        for _ in range(steps):
            fine = _box_filter(fine, 3, np.maximum)
    elif width > THICKEST * STROKE_TARGET:
        fine = _pad(fine, 1)  # beyond the box is background, so it erodes from outside too
        for _ in range(round((width - 1.3 * STROKE_TARGET) / 2)):
            thinner = _box_filter(fine, 3, np.minimum)
            if thinner.max() <= 0.5:  # never erode a stroke away
                break
            fine = thinner
    return fine


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Paste a digit of at most 20x20 into 28x28 with its centre of mass at MNIST's."""
    h, w = digit.shape
    mass = digit.sum()
    cy = (digit.sum(axis=1) * np.arange(h)).sum() / mass
    cx = (digit.sum(axis=0) * np.arange(w)).sum() / mass
    top = min(max(round(MNIST_CENTRE - cy), 0), 28 - h)
    left = min(max(round(MNIST_CENTRE - cx), 0), 28 - w)
    out = np.zeros((28, 28), dtype=np.float32)
    out[top : top + h, left : left + w] = digit
    return out


def core_ink(ink: np.ndarray, strongest: float) -> np.ndarray:
    """The strokes without their faint fringe: what normalises to more than 0.5."""
    return ink > strongest * (NOISE_FLOOR + 0.5 * (1 - NOISE_FLOOR))


def measured_ink(image: Image.Image) -> tuple[np.ndarray, float]:
    """The ink of a decoded image and its strongest level; `blank` when there is none."""
    ink = ink_map(image)
    strongest = strongest_ink(ink)
    if strongest < MIN_CONTRAST:
        raise blank("the image is empty or too faint")
    return ink, strongest


def margin_for(box) -> int:
    """The anti-aliased fringe around strokes, by which a box of core ink is widened."""
    top, bottom, left, right = box
    return max(2, round(0.02 * max(bottom - top, right - left)))


def fringe_window(box) -> tuple[tuple[slice, slice], tuple[int, int]]:
    """The rows and columns of `box` widened by its strokes' fringe (margin_for), and the
    first of each."""
    top, bottom, left, right = box
    margin = margin_for(box)
    y, x = max(top - margin, 0), max(left - margin, 0)
    return (slice(y, bottom + margin), slice(x, right + margin)), (y, x)


def to_mnist_box(ink: np.ndarray, strongest: float, box, dots_allowed: bool = False):
    """The digit inside `box` of the ink map -> (float32 [28, 28] in [0, 1], is it a dot).
    A dot raises `blank` unless dots_allowed."""
    window, _ = fringe_window(box)
    crop = normalise_ink(ink[window], strongest)
    fine = _resize(crop, FINE)
    width = stroke_width(fine)
    dot = is_dot(fine, width)
    if dot and not dots_allowed:
        raise blank("a dot or a blob is not a digit")
    fine = normalise_strokes(fine, width)
    top, bottom, left, right = bbox(fine > 0.05)
    digit = _resize(fine[top:bottom, left:right], BOX)
    digit = np.clip(digit / digit.max(), 0, 1)
    return centre_by_mass(digit), dot


def whole_box(core: np.ndarray):
    """The box (top, bottom, left, right) of all the core ink, refusing none and specks
    (`blank`)."""
    box = bbox(core)
    if box is None:
        raise blank("no stroke found")
    top, bottom, left, right = box
    if max(bottom - top, right - left) < MIN_EXTENT * max(core.shape):
        raise blank("a speck is not a digit")
    return box


def to_mnist(image: Image.Image) -> np.ndarray:
    """A decoded image of one digit -> float32 [28, 28] in [0, 1], ink white on black."""
    ink, strongest = measured_ink(image)
    return to_mnist_box(ink, strongest, whole_box(core_ink(ink, strongest)))[0]


def preprocess(blob: bytes) -> np.ndarray:
    """Image bytes (PNG, JPEG, WebP or GIF) -> float32 [28, 28] model input, for one digit."""
    return to_mnist(decode(blob))
