"""Show why: what the network saw, and which strokes made it choose its digit.

Two halves, one file:

- **The explain graph** (training side, needs the `onnx` package): `build_graph` makes a
  companion ONNX file next to the model, `models/mnist-cnn.explain.onnx`, holding the first
  member's convolutions up to its last stage, with three outputs: the first convolution
  (`conv1`, what the network sees first: edges and strokes at full resolution), and the output
  of each of the two stages (`stage1`, `stage2`, after each strided convolution: what the
  later layers build on, coarser and more abstract). The convolutions inside a stage look much
  like their stage's output, and the last 4x4 convolution to 128 leaves single numbers, no
  pictures, so they are left out. Only that part of one member is copied (0.8 MB, against
  3.9 MB for the whole ensemble): the model file itself and the plain answer stay byte for
  byte and millisecond for millisecond what they were. The companion records the SHA-256 of
  the model it was cut from, and is refused for any other. `mnistdraw.train.export` builds
  it, so a retrained model explains itself; `python -m mnistdraw explain --build-graph`
  builds it for a model that exists already.

- **The explanation** (runtime: numpy, Pillow, onnxruntime): `explain(recognizer, pixels,
  scores)` gives the `explain` object of an answer. Its saliency is occlusion sensitivity:
  each 5x5 patch (every 4 px) that holds ink is set to background, all in one batch through
  the model itself, and the drop of the digit's log-odds is shared among the patch's ink
  pixels. Occlusion rather than gradients: it asks the question a learner would ("what if
  this bit were not there?"), it explains the exact model that answered (the same session,
  the whole ensemble, no second graph to export and keep in step) and it is not fooled by
  ReLU's flat regions or saturated softmaxes the way a plain gradient is. Hiding background
  changes nothing, so only patches touching ink are run: 20-35 images, 25-40 ms here. Patches
  every 3 px drew the same maps at 1.6x the cost.
"""

import hashlib
import io
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from . import ROOT
from .api import png_data_url

COMPANION_SUFFIX = ".explain.onnx"
META_SHA256 = "explains_sha256"  # metadata: the SHA-256 of the model file it was cut from
META_MODEL = "explains_model"  # metadata: that file's name
META_LAYERS = "explain_layers"  # metadata: JSON list of {"name", "tensor"}
BUILD_COMMAND = "python -m mnistdraw explain --build-graph"

PATCH = 5  # occlusion patch side, px of the 28x28 input
STRIDE = 4  # patches start every STRIDE px: overlapping, so no stroke falls between them
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before log-odds
FOR, AGAINST = np.array([214, 39, 40]), np.array([31, 100, 200])  # red, blue
GAP = 1  # px between the tiles of a sprite
GAP_GREY = 70


class ExplainError(RuntimeError):
    """The companion graph is missing, unreadable, or was made from another model."""


def companion_path(model_path: Path) -> Path:
    """models/mnist-cnn.onnx -> models/mnist-cnn.explain.onnx"""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + COMPANION_SUFFIX)


# ---- the explain graph (training side: imports onnx) ----------------------------------------


def conv_chain(graph) -> list[dict]:
    """The first member's convolutions in order, read from the graph: for each, its ReLU's
    output tensor, its stride and its kernel. The first Conv in the graph's (topological)
    order starts it; it follows each ReLU into the next Conv."""
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    conv = next((n for n in graph.node if n.op_type == "Conv"), None)
    chain = []
    while conv is not None:
        attrs = {a.name: list(a.ints) for a in conv.attribute}
        node = conv
        while node is not None and node.op_type != "Relu":  # bias or scale folded in, if any
            nexts = consumers.get(node.output[0], [])
            node = (
                nexts[0] if len(nexts) == 1 and nexts[0].op_type in ("Relu", "Add", "Mul") else None
            )
        if node is None:
            break
        chain.append(
            {
                "tensor": node.output[0],
                "stride": max(attrs.get("strides", [1])),
                "kernel": attrs.get("kernel_shape", [0])[0],
            }
        )
        nexts = consumers.get(node.output[0], [])
        conv = nexts[0] if len(nexts) == 1 and nexts[0].op_type == "Conv" else None
    return chain


def pick_layers(chain: list[dict]) -> list[dict]:
    """conv1, then the end of each stage (each strided convolution); without strided
    convolutions, the first, middle and last."""
    if not chain:
        raise ExplainError("the model has no convolution followed by a ReLU to show")
    ends = [i for i, c in enumerate(chain) if c["stride"] > 1]
    picked = (
        [0] + [i for i in ends if i > 0] if ends else sorted({0, len(chain) // 2, len(chain) - 1})
    )
    names = ["conv1"] + [
        f"stage{k}" if ends else f"conv{i + 1}" for k, i in enumerate(picked[1:], 1)
    ]
    return [{"name": n, "tensor": chain[i]["tensor"]} for n, i in zip(names, picked, strict=True)]


def build_graph(model_path: Path, out_path: Path | None = None) -> Path:
    """Cut the companion graph out of the ONNX model at model_path (see the module's
    docstring) and write it to out_path (default: companion_path(model_path))."""
    import onnx
    from onnx import helper, utils

    model_path = Path(model_path)
    out_path = Path(out_path) if out_path else companion_path(model_path)
    blob = model_path.read_bytes()
    model = onnx.load_from_string(blob)
    layers = pick_layers(conv_chain(model.graph))
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    sub = utils.Extractor(inferred).extract_model(
        [model.graph.input[0].name], [layer["tensor"] for layer in layers]
    )
    outputs = {o.name: o for o in sub.graph.output}
    renamed = []
    for layer in layers:  # short output names, by an Identity each
        sub.graph.node.append(
            helper.make_node("Identity", [layer["tensor"]], [layer["name"]], name=layer["name"])
        )
        out = onnx.ValueInfoProto()
        out.CopyFrom(outputs[layer["tensor"]])
        out.name = layer["name"]
        renamed.append(out)
    del sub.graph.output[:]
    sub.graph.output.extend(renamed)
    sub.graph.name = "explain"
    sub.doc_string = f"feature maps of {model_path.name}'s first member, for mnistdraw.explain"
    del sub.metadata_props[:]
    for key, value in {
        META_SHA256: hashlib.sha256(blob).hexdigest(),
        META_MODEL: model_path.name,
        META_LAYERS: json.dumps(layers, separators=(",", ":")),
    }.items():
        sub.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(sub)
    out_path.write_bytes(sub.SerializeToString())
    return out_path


def card(model_path: Path) -> dict:
    """What the model card says of the companion: file, size, SHA-256, how to make it."""
    path = companion_path(model_path)
    blob = path.read_bytes()
    try:
        shown = Path(model_path).resolve().relative_to(ROOT)
    except ValueError:  # a model outside the repository
        shown = Path(model_path)
    return {
        "file": path.name,
        "bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "command": f"{BUILD_COMMAND} --model {shown} (training makes it too)",
        "layers": [layer["name"] for layer in json.loads(_metadata(blob)[META_LAYERS])],
    }


def _metadata(blob: bytes) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    return session.get_modelmeta().custom_metadata_map


# ---- the explanation (runtime: numpy, Pillow, onnxruntime) ----------------------------------


@dataclass(frozen=True)
class Layer:
    name: str
    shape: tuple[int, int, int]  # h, w, channels


class Companion:
    """The companion graph loaded with onnxruntime: feature maps of one input."""

    def __init__(self, path: Path, model_sha256: str):
        import onnxruntime as ort

        try:
            blob = Path(path).read_bytes()
        except OSError as exc:
            raise ExplainError(
                f"cannot read the explain graph {path}: {exc.strerror}. Make it with "
                f"`{BUILD_COMMAND}` (needs requirements-dev.txt), or restore models/ from git."
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors on bad files
            raise ExplainError(
                f"the explain graph {path} is not a valid ONNX model: {exc}"
            ) from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get(META_SHA256) != model_sha256:
            raise ExplainError(
                f"the explain graph {path} was made from the model "
                f"{meta.get(META_MODEL, '?')}@{meta.get(META_SHA256, 'unknown')[:12]}, not from "
                f"the one loaded (sha256 {model_sha256[:12]}): make it again with "
                f"`{BUILD_COMMAND}`"
            )
        self.input_name = self.session.get_inputs()[0].name
        self.names = [o.name for o in self.session.get_outputs()]
        self.layers = [
            Layer(o.name, (o.shape[2], o.shape[3], o.shape[1]))  # NCHW -> h, w, c
            for o in self.session.get_outputs()
        ]

    def maps(self, pixels: np.ndarray) -> list[np.ndarray]:
        """Feature maps of one 28x28 input, one [channels, h, w] array per layer."""
        batch = np.asarray(pixels, np.float32).reshape(1, 28, 28, 1)
        return [m[0] for m in self.session.run(self.names, {self.input_name: batch})]


@cache
def _companion(path: str, model_sha256: str) -> Companion:
    return Companion(Path(path), model_sha256)


def companion(recognizer) -> Companion:
    """The companion of the recognizer's model, loaded once per process."""
    return _companion(str(companion_path(recognizer.path)), recognizer.sha256)


def _patches() -> list[tuple[int, int]]:
    starts = list(range(0, 28 - PATCH + 1, STRIDE))
    if starts[-1] != 28 - PATCH:
        starts.append(28 - PATCH)
    return [(y, x) for y in starts for x in starts]


def saliency(recognizer, pixels: np.ndarray, digits: list[int]) -> np.ndarray:
    """Occlusion sensitivity of the given digits' log-odds, [len(digits), 28, 28]: positive
    where the ink is evidence for the digit (hiding it lowers its score), negative where it is
    evidence against; zero off the ink, since hiding background changes nothing. One run of
    the model for the input and every patch that holds ink."""
    pixels = np.asarray(pixels, np.float32).reshape(28, 28)
    inked = [(y, x) for y, x in _patches() if pixels[y : y + PATCH, x : x + PATCH].any()]
    batch = np.repeat(pixels[None], len(inked) + 1, 0)
    for k, (y, x) in enumerate(inked, 1):
        batch[k, y : y + PATCH, x : x + PATCH] = 0.0
    p = np.clip(recognizer.probabilities(batch)[:, digits], EPS, 1 - EPS)
    odds = np.log(p) - np.log1p(-p)  # [1 + patches, digits]
    drop = odds[0] - odds[1:]  # positive: hiding the patch lowers the digit's log-odds
    total = np.zeros((len(digits), 28, 28))
    count = np.zeros((28, 28))
    for k, (y, x) in enumerate(inked):
        ink = pixels[y : y + PATCH, x : x + PATCH]
        total[:, y : y + PATCH, x : x + PATCH] += drop[k][:, None, None] / ink.sum()
        count[y : y + PATCH, x : x + PATCH] += 1
    return (total / np.maximum(count, 1) * pixels).astype(np.float32)


def heat_map(pixels: np.ndarray, values: np.ndarray) -> Image.Image:
    """28x28 RGB: white paper, the ink in light grey, red where it is evidence for the digit
    and blue where against, the stronger the more; scaled to the map's largest value."""
    pixels = np.asarray(pixels, np.float32).reshape(28, 28)
    peak = float(np.abs(values).max()) or 1.0
    strength = (np.abs(values) / peak)[..., None]
    colour = np.where((values > 0)[..., None], FOR, AGAINST)
    paper = (255 - 80 * pixels)[..., None]
    rgb = paper * (1 - strength) + colour * strength
    return Image.fromarray(np.round(rgb).astype(np.uint8), "RGB")


def grid_of(channels: int) -> tuple[int, int]:
    """(rows, columns) of a sprite: columns a power of two near the square root."""
    cols = 2 ** math.ceil(math.log2(math.sqrt(channels))) if channels > 1 else 1
    return math.ceil(channels / cols), cols


def sprite(maps: np.ndarray) -> Image.Image:
    """A layer's maps [c, h, w] as one greyscale picture: a grid of tiles, row by row in
    channel order, each scaled to its own largest value (white), with grey lines between."""
    c, h, w = maps.shape
    rows, cols = grid_of(c)
    peak = maps.reshape(c, -1).max(axis=1)
    tiles = np.round(maps / np.where(peak > 0, peak, 1)[:, None, None] * 255).astype(np.uint8)
    grid = np.full((rows * cols, h + GAP, w + GAP), GAP_GREY, np.uint8)  # a gap right and below
    grid[:c, :h, :w] = tiles
    grid[c:, :h, :w] = 0  # the cells after the last channel: empty
    out = grid.reshape(rows, cols, h + GAP, w + GAP).transpose(0, 2, 1, 3)
    out = out.reshape(rows * (h + GAP), cols * (w + GAP))[:-GAP, :-GAP]
    return Image.fromarray(np.ascontiguousarray(out), "L")


def ranked(scores) -> tuple[int, int]:
    """The chosen digit and the runner-up, by the ten digit scores."""
    order = np.argsort(-np.asarray(scores, np.float64)[:10], kind="stable")
    return int(order[0]), int(order[1])


def pictures(recognizer, pixels: np.ndarray, scores) -> dict:
    """Everything that `explain` shows, as Pillow images: {"digit", "saliency",
    "runner_up": {"digit", "saliency"}, "layers": [(Layer, image)]}."""
    digit, second = ranked(scores)
    heat = saliency(recognizer, pixels, [digit, second])
    part = companion(recognizer)
    return {
        "digit": digit,
        "saliency": heat_map(pixels, heat[0]),
        "runner_up": {"digit": second, "saliency": heat_map(pixels, heat[1])},
        "layers": [(L, sprite(m)) for L, m in zip(part.layers, part.maps(pixels), strict=True)],
    }


def explain(recognizer, pixels: np.ndarray, scores) -> dict:
    """The `explain` object of one entry of an answer (README: Explain), JSON-ready.

    recognizer: the mnistdraw.recognizer.Recognizer that answered; pixels: its float32
    [28, 28] input, ink white on black in [0, 1]; scores: its ten digit scores. Raises
    ExplainError when the companion graph is missing or made from another model."""
    shown = pictures(recognizer, pixels, scores)
    return {
        "method": "occlusion",
        "digit": shown["digit"],
        "saliency": png_data_url(shown["saliency"]),
        "runner_up": {
            "digit": shown["runner_up"]["digit"],
            "saliency": png_data_url(shown["runner_up"]["saliency"]),
        },
        "layers": [
            {
                "name": layer.name,
                "shape": list(layer.shape),
                "grid": list(grid_of(layer.shape[2])),
                "maps": png_data_url(image),
            }
            for layer, image in shown["layers"]
        ],
    }


# ---- the command line: python -m mnistdraw explain IMAGE -------------------------------------


def _upscaled(image: Image.Image, width: int = 420) -> Image.Image:
    """Scaled up by a whole factor, nearest neighbour, to about `width` px: crisp on a slide."""
    factor = max(1, round(width / image.width))
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def _on_white(blob: bytes) -> Image.Image:
    """The drawing as a person sees it: a transparent canvas laid on white paper."""
    image = Image.open(io.BytesIO(blob))
    image.seek(0)
    image = image.convert("RGBA")
    paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(paper, image).convert("RGB")


def slides(image_path: Path, out_dir: Path, model_path: Path | None = None) -> int:
    """Write the pictures of `explain` for one image as PNG files in out_dir, numbered in the
    order that the drawing goes through them, for each thing drawn (a number has several);
    print what it wrote and the answer."""
    from .preprocess import PreprocessError, decode
    from .recognizer import DEFAULT_MODEL_PATH, Recognizer
    from .segment import segment

    blob = Path(image_path).read_bytes()
    model = Recognizer(model_path or DEFAULT_MODEL_PATH)
    try:
        pieces, _ = segment(decode(blob), model.read)
    except PreprocessError as exc:
        print(f"{image_path}: nothing to explain ({exc.code}: {exc.fields})")
        return 1
    stem = Path(image_path).stem
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {f"{stem}-1-drawing.png": _on_white(blob)}
    for n, piece in enumerate(pieces, 1):
        name = stem if len(pieces) == 1 else f"{stem}-piece{n}"
        shown = pictures(model, piece.pixels, piece.scores)
        digit, second = shown["digit"], shown["runner_up"]["digit"]
        files[f"{name}-2-input-28x28.png"] = _upscaled(
            Image.fromarray(np.round(piece.pixels * 255).astype(np.uint8), "L"), 280
        )
        for k, (layer, image) in enumerate(shown["layers"], 3):
            h, w, c = layer.shape
            files[f"{name}-{k}-{layer.name}-{c}x{h}x{w}.png"] = _upscaled(image)
        k = 3 + len(shown["layers"])
        files[f"{name}-{k}-why-{digit}.png"] = _upscaled(shown["saliency"], 280)
        files[f"{name}-{k + 1}-why-not-{second}.png"] = _upscaled(
            shown["runner_up"]["saliency"], 280
        )
        scores, not_a_digit = piece.scores, piece.not_a_digit
        said = f"piece {n} of {len(pieces)}: " if len(pieces) > 1 else "answer: "
        if model.refuses(not_a_digit):
            print(f"{said}not a digit ({not_a_digit:.2%}); closest guess {digit}, then {second}")
        else:
            print(
                f"{said}{digit} ({scores[digit] * (1 - not_a_digit):.2%}); runner-up {second} "
                f"({scores[second] * (1 - not_a_digit):.2%}); not a digit {not_a_digit:.2%}"
            )
    for name, image in files.items():
        image.save(out_dir / name, "PNG", optimize=True)
        print(f"wrote {out_dir / name}")
    print(
        "red: strokes that made it choose the digit (hiding them lowers its score); "
        "blue: strokes that speak against it"
    )
    return 0
