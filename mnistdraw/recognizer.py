"""Load an ONNX model and turn 28x28 images into probabilities: the ten digits and "not a
digit". The API loads it once per process (mnistdraw.api.recognizer)."""

import hashlib
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import DEFAULT_MODEL_NAME, MODELS_DIR

# MNISTDRAW_MODEL points a deployment (or a test) at another model file.
ort.set_default_logger_severity(3)  # errors only: no telemetry chatter in a server log

DEFAULT_MODEL_PATH = Path(
    os.environ.get("MNISTDRAW_MODEL", MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx")
)


class ModelError(RuntimeError):
    """The model file is missing, corrupt or does not have the expected input and output."""


class Recognizer:
    def __init__(self, path: Path = DEFAULT_MODEL_PATH, threads: int = 1):
        path = Path(path)
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise ModelError(
                f"cannot read the model {path}: {exc.strerror}. "
                "Run `python -m mnistdraw train` to make it, or restore models/ from git."
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors on bad files
            raise ModelError(f"the model {path} is not a valid ONNX model: {exc}") from exc
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if (
            len(inputs) != 1
            or list(inputs[0].shape[1:]) != [28, 28, 1]
            or list(outputs[0].shape[1:]) not in ([10], [11])
        ):
            raise ModelError(
                f"the model {path} has input {inputs[0].shape} and output {outputs[0].shape}; "
                "expected [N, 28, 28, 1] and [N, 10] or [N, 11]"
            )
        self.input_name = inputs[0].name
        self.path = path  # mnistdraw.explain finds the model's companion graph next to it
        self.sha256 = hashlib.sha256(blob).hexdigest()
        self.id = f"{path.stem}@{self.sha256[:12]}"
        # Above this probability of "not a digit" the answer is "not a digit". Training
        # calibrates it and stores it in the file; a ten-class model never refuses.
        meta = self.session.get_modelmeta().custom_metadata_map
        self.threshold = float(meta.get("not_a_digit_threshold", 0.5))

    def refuses(self, not_a_digit: float) -> bool:
        """Whether a reading with this probability of "not a digit" is answered as one."""
        return not_a_digit > self.threshold

    def read(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """images: [N, 28, 28] or [N, 28, 28, 1] floats in [0, 1], ink white on black.
        Returns the ten digit scores [N, 10], each row summing to 1 ("if it is a digit, which
        one"), and the probability that it is not a digit [N] (0 for a ten-class model)."""
        batch = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
        output = self.session.run(None, {self.input_name: batch})[0]
        digits = output[:, :10]
        # divided by their sum, as the API promises: an int8 softmax need not sum to exactly 1
        scores = digits / digits.sum(axis=1, keepdims=True)
        if output.shape[1] == 10:
            return scores, np.zeros(len(output), np.float32)
        return scores, output[:, 10] / output.sum(axis=1)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The ten digit scores [N, 10] of `read`."""
        return self.read(images)[0]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """[N, 11]: the probabilities of the ten digits, then of "not a digit"; rows sum to 1."""
        scores, not_a_digit = self.read(images)
        return np.concatenate([scores * (1 - not_a_digit[:, None]), not_a_digit[:, None]], 1)
