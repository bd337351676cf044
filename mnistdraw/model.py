"""The CNN, defined in Keras. Only inference layers live here: augmentation is applied to
the training data (mnistdraw.train), so the exported ONNX graph holds none of it."""

import keras
import numpy as np
from keras import layers

INPUT_SHAPE = (28, 28, 1)  # ink white on black, float32 in [0, 1]
NUM_CLASSES = 11  # the ten digits, then "not a digit"
NOT_A_DIGIT = 10


def _conv_bn(x, filters, kernel, strides=1, padding="valid"):
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def build_member(name="member"):
    """One CNN: two stages of 3x3, 3x3 and strided 5x5 convolutions (learned downsampling
    instead of max-pooling) at 32 and then 64 channels, a 4x4 convolution to 128, batch norm
    after every convolution, dropout after each stage. Outputs logits (softmax comes in the
    ensemble, after calibration)."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for filters in (32, 64):
        x = _conv_bn(x, filters, 3)
        x = _conv_bn(x, filters, 3)
        x = _conv_bn(x, filters, 5, strides=2, padding="same")
        x = layers.Dropout(0.4)(x)
    x = _conv_bn(x, 128, 4)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def build_ensemble(members, temperature: float = 1.0):
    """One graph, one ONNX file: each member's logits divided by the calibrated temperature,
    turned into probabilities, and the members' probabilities averaged."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    probabilities = [
        layers.Softmax()(layers.Rescaling(1 / temperature)(m(inputs))) for m in members
    ]
    outputs = (
        layers.Average(name="scores")(probabilities)
        if len(members) > 1
        else layers.Identity(name="scores")(probabilities[0])
    )
    ensemble = keras.Model(inputs, outputs, name="ensemble")
    ensemble(np.zeros((1, *INPUT_SHAPE), dtype="float32"))  # export needs a model once called
    return ensemble


def describe(member) -> str:
    """The architecture in one line, read from the model's own layers."""
    parts, dropout = [], None
    for layer in member.layers:
        if isinstance(layer, layers.Conv2D):
            k, s = layer.kernel_size[0], layer.strides[0]
            parts.append(f"conv{k}{'/' + str(s) if s > 1 else ''} x{layer.filters}")
        elif isinstance(layer, layers.Dense):
            parts.append(f"dense {layer.units}")
        elif isinstance(layer, layers.Dropout):
            dropout = layer.rate
    norm = any(isinstance(layer, layers.BatchNormalization) for layer in member.layers)
    return (
        ", ".join(parts)
        + (", batch norm after every convolution" if norm else "")
        + (f", dropout {dropout}" if dropout else "")
    )
