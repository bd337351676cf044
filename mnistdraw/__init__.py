"""mnist-draw: draw a digit, a CNN trained on MNIST reads it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"
DEFAULT_MODEL_NAME = "mnist-cnn"
