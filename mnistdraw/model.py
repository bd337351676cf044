"""The CNN, defined in Keras. Only inference layers live here: augmentation is applied to
the training data (mnistdraw.train), so the exported ONNX graph holds none of it."""

import keras
import numpy as np
from keras import layers

INPUT_SHAPE = (28, 28, 1)  # ink white on black, float32 in [0, 1]
NUM_CLASSES = 10


def _conv_bn(x, filters, kernel, strides=1, padding="valid"):
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def build_member(name="member"):
    """One CNN: three 3x3/3x3/strided-5x5 stages instead of max-pooling (learned downsampling),
    batch norm after every convolution, dropout between stages. ~330k parameters."""
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
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs, name=name)


def build_ensemble(members):
    """Average the probabilities of several trained members: one graph, one ONNX file."""
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(INPUT_SHAPE, name="image")
    outputs = layers.Average(name="scores")([m(inputs) for m in members])
    ensemble = keras.Model(inputs, outputs, name="ensemble")
    ensemble(np.zeros((1, *INPUT_SHAPE), dtype="float32"))  # export needs a model once called
    return ensemble
