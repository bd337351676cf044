"""Train the CNN on MNIST and on things that are not digits, with augmentation that makes it
look like what people draw; calibrate it, export it to ONNX and write its card.

The steps, in the order `train` runs them: data, members, calibration, export, evaluation,
card."""

import contextlib
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from . import DEFAULT_MODEL_NAME, MODELS_DIR, data, drawings, explain, negatives, parallel
from .preprocess import PreprocessError, to_mnist

# The recipe, named once: training reads it and the model card records it.
# Three members of 14 epochs: 39 min on this 2-core machine (AMD EPYC); float32, ~1 ms a digit.
RECIPE = {
    "epochs": 14,
    "batch_size": 128,
    "seed": 20261121,
    "members": 3,
    "learning_rate": 2e-3,  # Adam, cosine decay...
    "learning_rate_floor": 0.01,  # ...to this fraction of it
    "label_smoothing": 0.05,
    "drawn_share": 0.4,  # of the digits, shown re-drawn as canvas strokes, picked each epoch
    "brush": (0.01, 0.25),  # re-drawing brush, log-uniform, as a fraction of the digit height
    "height": (0.3, 0.95),  # re-drawn digit height, as a fraction of the canvas
    "thickness": 1.0,  # stroke thickness blend towards a 3x3 dilation (+) or erosion (-)
    "rotation_degrees": 12,
    "zoom": 0.15,
    "shift": 0.12,
    "validation_digits": 5000,  # the last training digits, held out to calibrate
    "non_digits": 0.25,  # non-digits drawn for training, per training digit
    "validation_non_digits": 3000,
    "pairs": 0.1,  # touching pairs and pieces of pairs drawn as "not a digit", per training digit
    "pair_overlap": 0.1,  # at most, as a fraction of the narrower digit's width
    "pair_piece": (0.35, 0.7),  # of the cut digit's ink that a piece of a pair keeps
    "refused_validation_digits": 0.002,  # sets the not-a-digit threshold
    # the first member answers alone for an image it reads more surely than this; the others
    # read only the rest (see cascade)
    "first_member_alone_above": 0.995,
    # (0.05, 0.5) until pairs of digits were learnt as "not a digit": the rule then wanted
    # a threshold above 0.5, and the clip refused 0.36 % of held-out training digits
    "threshold_range": (0.05, 0.95),
}
KEEP_DIR = Path("reports") / "members"  # the trained Keras members of the last run
REDRAW_CANVAS = 140  # px: small, so 60,000 drawings take minutes; preprocessing removes size


def redraw(digit: np.ndarray, seed: int) -> np.ndarray:
    """A training digit (uint8 28x28) drawn again as the page's canvas would hold it, with a
    random brush, size and place, then preprocessed as the server does: float32 28x28.
    A canvas stroke has one width from end to end; a scanned pen stroke does not."""
    rng = np.random.default_rng(seed)
    height = rng.uniform(*RECIPE["height"])
    low, high = RECIPE["brush"]
    relative_brush = np.exp(rng.uniform(np.log(low), np.log(high)))
    style = drawings.Style(
        canvas=REDRAW_CANVAS,
        height=height,
        brush=relative_brush * height * REDRAW_CANVAS,
        x=rng.uniform(),
        y=rng.uniform(),
        transparent=bool(rng.random() < 0.5),
    )
    try:
        return to_mnist(drawings.draw(digit, style))
    except PreprocessError:  # a short stroke drawn thick can read as a dot: keep the scan
        return digit.astype(np.float32) / 255


def redrawn(digits: np.ndarray, seed: int) -> np.ndarray:
    """Every digit re-drawn once (see redraw), on all cores: float32 [N, 28, 28, 1]."""
    seeds = np.random.SeedSequence(seed).generate_state(len(digits)).tolist()
    jobs = list(zip(digits, seeds, strict=True))
    return np.stack(parallel.starmap(redraw, jobs, f"re-drawing {len(digits)} digits"))[..., None]


def pair(left: np.ndarray, right: np.ndarray, cut: str, seed: int, recipe=RECIPE) -> np.ndarray:
    """Two training digits (uint8 28x28) written touching, as in a row of them, preprocessed
    as served: float32 28x28, a "not a digit". `cut` "left" or "right" cuts that digit so that
    a random share (pair_piece) of its ink stands clear of the other; "none" keeps both whole.
    These are what a wrong cut through a number leaves: learnt as "not a digit", they lose to
    the right cut (mnistdraw.segment)."""
    rng = np.random.default_rng(seed)
    height = rng.uniform(40, 100)
    brush = float(np.exp(rng.uniform(np.log(0.03), np.log(0.2)))) * height
    inks = [drawings.drawn_ink(d, height * rng.uniform(0.85, 1.15), brush) for d in (left, right)]
    drop = round(rng.uniform(-0.08, 0.08) * height)
    narrower = min(ink.shape[1] for ink in inks)
    overlap = round(rng.uniform(0, recipe["pair_overlap"]) * narrower)
    gap = drawings.touching_gap(*inks, drop) - overlap
    image, boxes = drawings.draw_row(inks, [gap], [0, drop], bool(rng.random() < 0.5))
    if cut != "none":  # the column that leaves `keep` of the cut digit's ink, clear of the other
        i = 1 if cut == "right" else 0
        (x, _, w, _), (xo, _, wo, _) = boxes[i], boxes[1 - i]
        columns = np.arange(x, x + w)
        clear = inks[i].sum(0) * ((columns >= xo + wo) if i else (columns < xo))
        if not i:  # counted from the cut end
            clear, columns = clear[::-1], columns[::-1]
        keep = rng.uniform(*recipe["pair_piece"]) * inks[i].sum()
        column = int(columns[min(np.searchsorted(np.cumsum(clear), keep), w - 1)])
        box = (0, 0, column + 1, image.height) if i else (column, 0, image.width, image.height)
        image = image.crop(box)
    return to_mnist(image)


def pairs(images: np.ndarray, labels: np.ndarray, count: int, seed: int, recipe=RECIPE):
    """`count` pairs of random training digits (see pair), a third whole, a third with the left
    digit cut and a third with the right one, on all cores: float32 [count, 28, 28, 1]. A 1 is
    never the digit cut: a sliver of a 1 is nothing."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(images), (count, 2))
    cuts = rng.choice(["none", "left", "right"], count)
    cuts[(cuts == "left") & (labels[picks[:, 0]] == 1)] = "none"
    cuts[(cuts == "right") & (labels[picks[:, 1]] == 1)] = "none"
    seeds = np.random.SeedSequence(seed).generate_state(count).tolist()
    jobs = [
        (images[a], images[b], str(cut), s, recipe)
        for (a, b), cut, s in zip(picks, cuts, seeds, strict=True)
    ]
    return np.stack(parallel.starmap(pair, jobs, f"drawing {count} pairs of digits"))[..., None]


@dataclass
class Data:
    """Images float32 [N, 28, 28, 1]; labels 0-9, and 10 for "not a digit"."""

    scanned: np.ndarray  # training digits as scanned, then the non-digits
    drawn: np.ndarray  # the same digits re-drawn, then the same non-digits
    labels: np.ndarray
    validation: dict  # name -> (images, labels): scanned, drawn, non-digits


def prepare_data(recipe: dict, subset: int | None) -> Data:
    """Step 1: MNIST's training digits, split into training and validation; each digit also
    re-drawn; non-digits from the training sources (mnistdraw.negatives) and touching pairs of
    training digits (pairs)."""
    seed = recipe["seed"]
    images, labels = data.load("train")
    if subset:
        images, labels = images[:subset], labels[:subset]
    held = min(recipe["validation_digits"], len(images) // 10)
    print(f"re-drawing {len(images)} training digits as canvas strokes", flush=True)
    drawn = redrawn(images, seed)
    scanned = (images.astype("float32") / 255)[..., None]
    count = round(recipe["non_digits"] * (len(images) - held))
    print(f"drawing {count} + {recipe['validation_non_digits']} non-digits", flush=True)
    non_digits, _ = negatives.sample(count, "train", seed)
    validation_count = min(recipe["validation_non_digits"], count)
    non_digits_val, _ = negatives.sample(validation_count, "train", seed + 1)
    train, val = slice(None, len(images) - held), slice(len(images) - held, None)
    pair_count = round(recipe["pairs"] * (len(images) - held))
    touching = pairs(images[train], labels[train], pair_count, seed + 2, recipe)
    non_digits = np.concatenate([non_digits, touching])
    not_a_digit = np.full(len(non_digits), 10, np.uint8)
    return Data(
        scanned=np.concatenate([scanned[train], non_digits]),
        drawn=np.concatenate([drawn[train], non_digits]),
        labels=np.concatenate([labels[train], not_a_digit]),
        validation={
            "scanned digits": (scanned[val], labels[val]),
            "re-drawn digits": (drawn[val], labels[val]),
            "non-digits": (non_digits_val, np.full(len(non_digits_val), 10, np.uint8)),
        },
    )


def _augmenter(recipe):
    """Random stroke thickness, then rotation, zoom and shift, per image, in TensorFlow ops."""
    import keras
    import tensorflow as tf

    seed = recipe["seed"]
    geometry = keras.Sequential(
        [
            keras.layers.RandomRotation(
                recipe["rotation_degrees"] / 360, fill_mode="constant", seed=seed
            ),
            keras.layers.RandomZoom(
                (-recipe["zoom"], recipe["zoom"]), fill_mode="constant", seed=seed + 1
            ),
            keras.layers.RandomTranslation(
                recipe["shift"], recipe["shift"], fill_mode="constant", seed=seed + 2
            ),
        ]
    )
    thickness = recipe["thickness"]

    def augment(scanned, drawn, labels):
        # Each example is shown drawn or scanned, drawn with drawn_share odds, each epoch anew.
        pick = tf.random.uniform([tf.shape(scanned)[0], 1, 1, 1]) < recipe["drawn_share"]
        images = tf.where(pick, drawn, scanned)
        # Thicker or thinner strokes: blend each image with its 3x3 grey dilation or erosion
        # by a random amount (negative thins, positive thickens).
        amount = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], -thickness, thickness)
        dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
        eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
        target = tf.where(amount > 0, dilated, eroded)
        images = images + tf.abs(amount) * (target - images)
        images = geometry(images, training=True)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return augment


def train_member(train_data: Data, recipe: dict, seed: int, name: str, verbose: int):
    """Step 2, once per member: one CNN trained from scratch."""
    import keras
    import tensorflow as tf

    from .model import NUM_CLASSES, build_member

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()  # same seed, same weights
    model = build_member(name)
    epochs, batch_size = recipe["epochs"], recipe["batch_size"]
    steps = epochs * int(np.ceil(len(train_data.labels) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        recipe["learning_rate"], decay_steps=steps, alpha=recipe["learning_rate_floor"]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=recipe["label_smoothing"]
        ),
        metrics=["accuracy"],
    )
    # One iterator for the whole run (repeat, and epochs counted in steps), and tf.data's ops
    # kept off the thread pool that training uses: tearing an iterator down at the end of an
    # epoch while one of its ops waited on that pool deadlocked TensorFlow 2.21 (twice, each
    # time as the third epoch began).
    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1
    ds = (
        tf.data.Dataset.from_tensor_slices(
            (
                train_data.scanned,
                train_data.drawn,
                keras.utils.to_categorical(train_data.labels, NUM_CLASSES),
            )
        )
        .shuffle(len(train_data.labels), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size)
        .map(
            _augmenter({**recipe, "seed": seed}),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )
    model.fit(ds, epochs=epochs, steps_per_epoch=steps // epochs, verbose=verbose)
    return model


def train_members(train_data: Data, recipe: dict, name: str) -> list:
    """Step 2: the members, each kept in KEEP_DIR so that the steps after can be redone."""
    verbose = 1 if sys.stdout.isatty() else 2
    members = []
    for i in range(recipe["members"]):
        print(
            f"member {i + 1}/{recipe['members']}: {recipe['epochs']} epochs on "
            f"{len(train_data.labels)} images",
            flush=True,
        )
        members.append(
            train_member(train_data, recipe, recipe["seed"] + 1000 * i, f"member{i}", verbose)
        )
        members[-1].save(KEEP_DIR / f"{name}-member{i}.keras")
    return members


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def calibrate(members, validation: dict, recipe: dict) -> dict:
    """Step 3: on held-out data, the temperature that makes the averaged probabilities honest
    (least negative log-likelihood), and the not-a-digit threshold that refuses a set share of
    held-out digits."""
    images = np.concatenate([x for x, _ in validation.values()])
    labels = np.concatenate([y for _, y in validation.values()])
    logits = np.stack([m.predict(images, batch_size=1000, verbose=0) for m in members])

    def probabilities(t):
        return _softmax(logits, t).mean(0)

    def nll(t):
        return -np.log(probabilities(t)[np.arange(len(labels)), labels] + 1e-12).mean()

    grid = np.exp(np.linspace(np.log(0.25), np.log(4), 81))
    temperature = float(grid[np.argmin([nll(t) for t in grid])])
    p = probabilities(temperature)
    first = _softmax(logits[0], temperature)
    alone = first.max(1) > recipe["first_member_alone_above"]
    is_digit = labels < 10
    quantile = np.quantile(p[is_digit, 10], 1 - recipe["refused_validation_digits"])
    threshold = float(np.clip(quantile, *recipe["threshold_range"]))
    return {
        "temperature": round(temperature, 4),
        "not_a_digit_threshold": round(threshold, 4),
        "validation_nll_before": round(float(nll(1.0)), 5),
        "validation_nll_after": round(float(nll(temperature)), 5),
        "validation_digits_refused": round(float((p[is_digit, 10] > threshold).mean()), 5),
        "validation_non_digits_refused": round(float((p[~is_digit, 10] > threshold).mean()), 5),
        "validation_first_member_alone": round(float(alone.mean()), 5),
        "validation_first_member_alone_answers_changed": int(
            (first[alone].argmax(1) != p[alone].argmax(1)).sum()
        ),
    }


def set_metadata(onnx_path: Path, values: dict) -> None:
    """Store calibration results in the ONNX file itself, where the recognizer reads them."""
    import onnx

    model = onnx.load(str(onnx_path))
    for key, value in values.items():
        model.metadata_props.add(key=key, value=str(value))
    onnx.save(model, str(onnx_path))


def export(members, calibration: dict, recipe: dict, onnx_path: Path) -> None:
    """Step 4: the calibrated ensemble as one ONNX graph, the threshold in its metadata, and
    next to it the companion graph that mnistdraw.explain shows feature maps from. It
    stays in float32: static int8 quantization cost this model 0.2-0.3 points on MNIST and
    its calibration (docs/benchmarks.md), for 0.3 ms a digit."""
    import onnx

    from .model import build_ensemble

    ensemble = build_ensemble(members, calibration["temperature"])
    ensemble.export(str(onnx_path), format="onnx", verbose=False)  # batch stays dynamic
    if len(members) > 1:
        model = cascade(onnx.load(str(onnx_path)), recipe["first_member_alone_above"])
        onnx.save(model, str(onnx_path))
    set_metadata(onnx_path, {"not_a_digit_threshold": calibration["not_a_digit_threshold"]})
    explain.build_graph(onnx_path)  # its companion: feature maps for "show why"


def cascade(model, alone_above: float):
    """The ensemble's ONNX graph rewritten so that the first member answers alone for an image
    it reads more surely than `alone_above`, and the others read only the images it is unsure
    of: most drawings are read that surely, and cost one member instead of three. The images
    it is unsure of are gathered (none, often: onnxruntime runs the others on an empty batch
    for next to nothing), read by the others, and their averages scattered back, so an image's
    answer does not depend on the others in its batch. An ONNX If that skipped the others
    when all were sure cost 0.45 ms more an unsure image (docs/benchmarks.md)."""
    import onnx
    from onnx import TensorProto, helper

    graph = model.graph
    first = next(n for n in graph.node if n.op_type == "Softmax").output[0]
    producers = {name: node for node in graph.node for name in node.output}
    needed, pending = set(), [first]  # the nodes that the first member's answer needs
    while pending:
        node = producers.get(pending.pop())
        if node is not None and node.name not in needed:
            needed.add(node.name)
            pending.extend(node.input)
    scores = graph.output[0]
    others = [n for n in graph.node if n.name not in needed]
    made_by_others = {name for node in others for name in node.output}
    constants = {tensor.name for tensor in graph.initializer}
    # what the others take from the first member's part, one row an image: the image as the
    # members read it, and the first member's probabilities for the average
    per_image = sorted(
        {name for node in others for name in node.input} - made_by_others - constants - {""}
    )
    for node in others:
        node.input[:] = [f"{name}:unsure" if name in per_image else name for name in node.input]
        node.output[:] = ["unsure_scores" if name == scores.name else name for name in node.output]
    nodes = [n for n in graph.node if n.name in needed] + [
        helper.make_node("ReduceMax", [first], ["first_best"], axes=[1], keepdims=0),
        helper.make_node("Greater", ["first_best", "alone_above"], ["sure_rows"]),
        helper.make_node("Not", ["sure_rows"], ["unsure_rows"]),
        helper.make_node("NonZero", ["unsure_rows"], ["unsure_found"]),
        helper.make_node("Reshape", ["unsure_found", "flat"], ["unsure_index"]),
        helper.make_node("Reshape", ["unsure_found", "column"], ["unsure_places"]),
        *[
            helper.make_node("Gather", [name, "unsure_index"], [f"{name}:unsure"], axis=0)
            for name in per_image
        ],
        *others,
        helper.make_node("ScatterND", [first, "unsure_places", "unsure_scores"], [scores.name]),
    ]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(
        [
            helper.make_tensor("alone_above", TensorProto.FLOAT, [], [alone_above]),
            helper.make_tensor("flat", TensorProto.INT64, [1], [-1]),
            helper.make_tensor("column", TensorProto.INT64, [2], [-1, 1]),
        ]
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def _versions():
    names = ["tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy",
             "pillow", "hershey-fonts"]  # fmt: skip
    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    found["python"] = platform.python_version()
    return found


def write_card(onnx_path: Path, card: dict) -> dict:
    """Step 6: the model card, next to the model."""
    card = {"sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(), **card}
    onnx_path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def train(
    out_dir: Path = MODELS_DIR,
    name: str = DEFAULT_MODEL_NAME,
    *,
    subset: int | None = None,
    command: str | None = None,
    members_from: Path | None = None,
    **overrides,
) -> tuple[list, dict]:
    """Train, export out_dir/name.onnx, evaluate it with onnxruntime and write its card.
    `overrides` replace entries of RECIPE. Returns the trained Keras members and the card."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # imported now, so that the run uses the code it started with from end to end
    from .evaluate import evaluate
    from .model import describe

    recipe = {**RECIPE, **overrides}
    KEEP_DIR.mkdir(parents=True, exist_ok=True)
    started = time.time()
    train_data = prepare_data(recipe, subset)
    if members_from:  # the members of an earlier run, with the time they took
        import keras

        members = [
            keras.models.load_model(members_from / f"{name}-member{i}.keras")
            for i in range(recipe["members"])
        ]
        earlier = json.loads((members_from / f"{name}-training.json").read_text())
    else:
        members, earlier = train_members(train_data, recipe, name), None
    train_seconds = time.time() - started
    if earlier is None:
        earlier = {"command": command or "python -m mnistdraw train", "seconds": train_seconds}
        (KEEP_DIR / f"{name}-training.json").write_text(json.dumps(earlier) + "\n")
    calibration = calibrate(members, train_data.validation, recipe)
    print(f"calibrated: {calibration}", flush=True)

    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{name}.onnx"
    export(members, calibration, recipe, onnx_path)
    result = evaluate(onnx_path, report_dir=None, quiet=True)
    card = write_card(
        onnx_path,
        {
            "name": name,
            "file": onnx_path.name,
            "input": "float32 [N, 28, 28, 1], ink white on black, values in [0, 1]",
            "output": "float32 [N, 11] probabilities: the ten digits, then 'not a digit'",
            "architecture": f"{len(members)} x CNN ({describe(members[0])}; softmax of "
            "logits / temperature)"
            + (
                ", probabilities averaged; the first member answers alone for an image it reads "
                f"above {recipe['first_member_alone_above']}, the others read the rest"
                if len(members) > 1
                else ""
            ),
            "parameters": int(sum(m.count_params() for m in members)),
            "quantization": "none: float32 (int8 cost this model 0.2-0.3 points)",
            "explain": explain.card(onnx_path),
            "calibration": calibration,
            "test": result,
            "training": {
                "command": earlier["command"],
                "seconds": round(earlier["seconds"], 1),
                "redone_after_training": None
                if members_from is None
                else {"command": command, "seconds": round(time.time() - started, 1)},
                "recipe": recipe,
                "train_images": len(train_data.labels),
                "train_digits": int((train_data.labels < 10).sum()),
                "train_non_digits": int((train_data.labels == 10).sum()),
                "subset": subset,
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
            },
            "data": {
                "digits": "data/mnist/ (see data/mnist/README.md)",
                "digits_sha256": data.checksums(),
                "non_digits": "mnistdraw/negatives.py, training sources "
                "(see data/negatives/README.md)",
                "font_sha256": negatives.source_checksums("train"),
            },
            "versions": _versions(),
        },
    )
    print(
        f"wrote {onnx_path} and its card: test accuracy {result['accuracy']:.2%}, "
        f"{card['parameters']} parameters, trained in {earlier['seconds'] / 60:.1f} min",
        flush=True,
    )
    return members, card


def command_line(argv) -> str:
    """The command as typed: the program as given, its arguments shell-quoted."""
    return " ".join([argv[0], *(shlex.quote(str(a)) for a in argv[1:])])
