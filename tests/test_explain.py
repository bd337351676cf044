"""Show why (mnistdraw/explain.py), against the shipped model and its committed companion
graph: the saliency lies on the strokes and means what it says, the feature maps have the
model's own shapes, the answer stays small, and the command line writes its pictures."""

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from PIL import Image

from bench.canvases import canvas_png, mnist_test_set
from mnistdraw import DEFAULT_MODEL_NAME, MODELS_DIR, ROOT, explain
from mnistdraw.preprocess import preprocess
from mnistdraw.recognizer import Recognizer

SHIPPED = MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx"
COMPANION = explain.companion_path(SHIPPED)
DRAWN = range(12)  # MNIST test digits 0-11 drawn on the page's canvas: every digit 0-9


@pytest.fixture(scope="module")
def model():
    return Recognizer(SHIPPED)


def read(model, pixels):
    scores, _ = model.read(pixels[None])
    return scores[0]


def png_of(data_url: str) -> Image.Image:
    head, _, body = data_url.partition(",")
    assert head == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(body)))
    assert image.format == "PNG"
    return image


def near_ink(pixels, reach=1):
    """The ink, grown by `reach` px (8-neighbours)."""
    ink = np.pad(pixels > 0.1, reach)
    grown = np.zeros_like(ink)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            grown |= np.roll(ink, (dy, dx), axis=(0, 1))
    return grown[reach:-reach, reach:-reach]


def shipped_layer_shapes():
    """[h, w, channels] of the tensors that the explanation shows, read from the shipped
    model's own graph by shape inference: nothing typed here."""
    graph = onnx.shape_inference.infer_shapes(onnx.load(SHIPPED)).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in graph.value_info}
    layers = explain.pick_layers(explain.conv_chain(graph))
    return {layer["name"]: shapes[layer["tensor"]] for layer in layers}


# ---- the companion graph -------------------------------------------------------------------


def test_the_companion_graph_was_made_from_the_shipped_model(model):
    meta = explain.companion(model).session.get_modelmeta().custom_metadata_map
    assert meta[explain.META_SHA256] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert meta[explain.META_SHA256] == model.sha256
    card = json.loads(SHIPPED.with_suffix(".json").read_text())["explain"]
    blob = COMPANION.read_bytes()
    assert card["file"] == COMPANION.name and card["bytes"] == len(blob)
    assert card["sha256"] == hashlib.sha256(blob).hexdigest()
    assert len(blob) < 1_000_000  # a part of one member, not a second copy of the ensemble


def test_building_the_companion_again_gives_the_committed_one(tmp_path, model):
    built = explain.build_graph(SHIPPED, tmp_path / "again.onnx")
    committed, again = onnx.load(COMPANION), onnx.load(built)

    def outputs(m):
        return [(o.name, str(o.type)) for o in m.graph.output]

    assert outputs(again) == outputs(committed)
    assert {p.key: p.value for p in again.metadata_props} == {
        p.key: p.value for p in committed.metadata_props
    }
    # and the same feature maps for a drawn digit
    pixels = preprocess(canvas_png(0))
    fresh = explain.Companion(built, model.sha256)
    for a, b in zip(fresh.maps(pixels), explain.companion(model).maps(pixels), strict=True):
        assert np.array_equal(a, b)


def test_the_companion_shows_the_first_member_as_the_model_computes_it():
    """The companion's maps are the shipped model's own intermediate tensors."""
    model = onnx.load(SHIPPED)
    layers = explain.pick_layers(explain.conv_chain(model.graph))
    model.graph.output.extend(onnx.ValueInfoProto(name=layer["tensor"]) for layer in layers)
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    pixels = preprocess(canvas_png(3))
    full = session.run([layer["tensor"] for layer in layers], {"image": pixels[None, ..., None]})
    ours = explain.Companion(COMPANION, hashlib.sha256(SHIPPED.read_bytes()).hexdigest())
    for a, b in zip(full, ours.maps(pixels), strict=True):
        np.testing.assert_allclose(a[0], b, atol=1e-5)


def test_a_companion_of_another_model_is_refused(tmp_path):
    other = onnx.load(SHIPPED)
    other.metadata_props.add(key="retrained", value="yes")  # other bytes, other SHA-256
    onnx.save(other, tmp_path / "other.onnx")
    model = Recognizer(tmp_path / "other.onnx")
    pixels = preprocess(canvas_png(0))
    with pytest.raises(explain.ExplainError, match="cannot read the explain graph"):
        explain.explain(model, pixels, read(model, pixels))
    shutil.copy(COMPANION, explain.companion_path(tmp_path / "other.onnx"))
    with pytest.raises(explain.ExplainError, match="make it again"):
        explain.explain(model, pixels, read(model, pixels))
    explain.build_graph(tmp_path / "other.onnx")  # made for it: accepted
    assert explain.explain(model, pixels, read(model, pixels))["digit"] == 7


# ---- the explanation -----------------------------------------------------------------------


@pytest.mark.parametrize("index", DRAWN)
def test_the_saliency_lies_on_the_strokes(model, index):
    pixels = preprocess(canvas_png(index))
    heat = explain.saliency(model, pixels, list(explain.ranked(read(model, pixels))))
    for values in heat:
        mass = np.abs(values)
        assert mass.sum() > 0
        assert mass[near_ink(pixels, 1)].sum() >= 0.95 * mass.sum()
    # the chosen digit: the strokes speak for it, on the whole
    assert heat[0].sum() > 0 and heat[0][heat[0] > 0].sum() > 2 * -heat[0][heat[0] < 0].sum()
    # and the picture shows it there: coloured pixels only on or next to the ink
    image = np.asarray(explain.heat_map(pixels, heat[0])).astype(int)
    coloured = image.max(axis=2) - image.min(axis=2) > 8
    assert coloured.any() and coloured[~near_ink(pixels, 1)].sum() == 0


def test_the_map_ranks_pieces_of_ink_by_what_hiding_them_costs(model):
    """The map means what it says, also at another scale than its own 5x5 patches: over the
    7x7 windows that hold at least half as much ink as the inkiest, the sum of the map in a
    window ranks the windows as hiding them really lowers the digit's log-odds, and the window
    that the map marks most costs more than the one it marks least."""

    def log_odds(p):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p) - np.log1p(-p)

    def ranks(a):
        return np.argsort(np.argsort(a))

    correlations, agreed = [], 0
    for index in DRAWN:
        pixels = preprocess(canvas_png(index))
        digit, _ = explain.ranked(read(model, pixels))
        heat = explain.saliency(model, pixels, [digit])[0]
        windows = [(y, x) for y in range(0, 22, 2) for x in range(0, 22, 2)]
        ink = np.array([pixels[y : y + 7, x : x + 7].sum() for y, x in windows])
        windows = [w for w, amount in zip(windows, ink, strict=True) if amount >= ink.max() / 2]
        claimed = np.array([heat[y : y + 7, x : x + 7].sum() for y, x in windows])
        batch = np.repeat(pixels[None], len(windows) + 1, 0)
        for k, (y, x) in enumerate(windows, 1):
            batch[k, y : y + 7, x : x + 7] = 0
        odds = log_odds(model.probabilities(batch)[:, digit])
        cost = odds[0] - odds[1:]
        correlations.append(np.corrcoef(ranks(claimed), ranks(cost))[0, 1])
        agreed += cost[claimed.argmax()] > cost[claimed.argmin()]
    # measured: rank correlations 0.39-0.94, mean 0.68; 11 of 12 agree
    assert min(correlations) > 0.25 and np.mean(correlations) > 0.55, correlations
    assert agreed >= len(DRAWN) - 2


def test_the_layers_have_the_models_shapes_and_channel_counts(model):
    shapes = shipped_layer_shapes()
    pixels = preprocess(canvas_png(0))
    answer = explain.explain(model, pixels, read(model, pixels))
    assert [layer["name"] for layer in answer["layers"]] == list(shapes)
    for layer in answer["layers"]:
        _, channels, h, w = shapes[layer["name"]]
        assert layer["shape"] == [h, w, channels]
        rows, cols = layer["grid"]
        assert rows * cols >= channels > (rows - 1) * cols  # one tile a channel
        sprite = png_of(layer["maps"])
        gap = explain.GAP
        assert sprite.size == (cols * (w + gap) - gap, rows * (h + gap) - gap)
    # the channel counts are those of the convolutions' weights
    graph = onnx.load(SHIPPED).graph
    weights = {init.name: list(init.dims) for init in graph.initializer}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    counts = {weights[node.input[1]][0] for node in convs}
    assert {shape[1] for shape in shapes.values()} <= counts
    assert shapes["conv1"][1] == weights[convs[0].input[1]][0]


@pytest.mark.parametrize("index", [0, 1, 3, 8])
def test_the_explain_object_is_complete_and_small(model, index):
    pixels = preprocess(canvas_png(index, brush=30))  # thick strokes: more ink, more to show
    scores = read(model, pixels)
    answer = explain.explain(model, pixels, scores)
    digit, second = explain.ranked(scores)
    assert answer["method"] == "occlusion"
    assert answer["digit"] == digit == int(np.argmax(scores))
    assert answer["runner_up"]["digit"] == second != digit
    for url in (answer["saliency"], answer["runner_up"]["saliency"]):
        assert png_of(url).size == (28, 28)
    assert len(json.dumps(answer)) <= 120_000
    json.loads(json.dumps(answer))  # JSON-ready: no numpy types


def test_a_not_a_digit_is_explained_too(model):
    """A letter: the saliency is of the digit it would have guessed."""
    from mnistdraw import negatives

    image = negatives.typed(
        negatives.fonts("train")[0], "A", np.random.default_rng(1)
    )  # any font will do
    out = io.BytesIO()
    image.save(out, "PNG")
    pixels = preprocess(out.getvalue())
    answer = explain.explain(model, pixels, read(model, pixels))
    assert answer["digit"] in range(10) and len(answer["layers"]) == 3


def test_the_runtime_does_not_need_the_onnx_package():
    """Serving has numpy, Pillow and onnxruntime only."""
    code = (
        "import sys; sys.modules['onnx'] = None\n"  # any import of onnx now fails
        "from bench.canvases import canvas_png\n"
        "from mnistdraw import explain, preprocess, recognizer\n"
        "m = recognizer.Recognizer(); x = preprocess.preprocess(canvas_png(0))\n"
        "print(explain.explain(m, x, m.read(x[None])[0][0])['digit'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7"


# ---- the command line ----------------------------------------------------------------------


def test_the_command_line_writes_the_pictures(tmp_path):
    image = tmp_path / "four.png"
    index = int(np.flatnonzero(mnist_test_set()[1] == 4)[0])
    image.write_bytes(canvas_png(index))
    out = tmp_path / "slides"
    done = subprocess.run(
        [sys.executable, "-m", "mnistdraw", "explain", str(image), "--out-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(out.iterdir())
    names = [p.name for p in written]
    assert len(names) == 2 + len(shipped_layer_shapes()) + 2
    assert names[0] == "four-1-drawing.png" and names[1] == "four-2-input-28x28.png"
    assert any(n.startswith("four-6-why-4") for n in names)
    assert any("why-not-" in n for n in names)
    for path in written:
        assert f"wrote {path}" in done.stdout
        with Image.open(path) as picture:
            assert picture.format == "PNG" and min(picture.size) >= 28
    assert "answer: 4 (" in done.stdout


def test_the_command_line_says_when_there_is_nothing_to_explain(tmp_path):
    empty = tmp_path / "empty.png"
    Image.new("RGBA", (280, 280), (0, 0, 0, 0)).save(empty)
    done = subprocess.run(
        [sys.executable, "-m", "mnistdraw", "explain", str(empty), "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "nothing to explain" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.png"]


# ---- the samples to try --------------------------------------------------------------------


def test_the_samples_are_listed_small_and_served(server):
    from bench.servers import API, request

    folder = ROOT / "samples"
    index = json.loads((folder / "index.json").read_text())
    files = {entry["file"] for entry in index["samples"]}
    assert files == {p.name for p in folder.glob("*.png")}
    assert {entry["kind"] for entry in index["samples"]} >= {"digit", "hard", "wrong", "number"}
    assert sum((folder / name).stat().st_size for name in files) < 60_000
    assert request(server, "/samples/index.json").json() == index
    for entry in index["samples"]:
        reply = request(server, f"/samples/{entry['file']}")
        assert reply.status == 200 and reply.body == (folder / entry["file"]).read_bytes()
        if entry["kind"] == "digit":  # posted as an upload: read as labelled
            answer = request(server, API, reply.body, "image/png").json()
            assert str(answer["digit"]) == entry["label"], entry
