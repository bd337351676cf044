"""The OpenAPI 3.1 document of the API, served at /api/openapi.json. Its error answers are
made from the table of errors (mnistdraw/errors.py)."""

from .api import IMAGE_TYPES, MAX_BODY_BYTES, MAX_STROKE_POINTS, MAX_STROKES
from .errors import ERRORS
from .preprocess import MAX_PIXELS
from .segment import MAX_PIECES

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": [c for c, e in ERRORS.items() if e.endpoint]},
                "message": {"type": "string"},
            },
        }
    },
}


def _errors():
    """A response for each status that the endpoint answers, with its codes and when."""
    whens = {}
    for code, error in ERRORS.items():
        if error.endpoint:
            whens.setdefault(error.status, []).append(f"`{code}`: {error.when}")
    return {
        str(status): {
            "description": "; ".join(whens[status]),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in sorted(whens)
    }


_DIGIT = {
    "type": ["integer", "null"],
    "minimum": 0,
    "maximum": 9,
    "description": "the digit read; null when it is not a digit",
}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
_SCORES = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 10,
    "maxItems": 10,
    "description": "scores of the digits 0-9, summing to 1: if it is a digit, which one (also "
    "when digit is null: the closest guess)",
}
_INPUT = {"type": "string", "description": "the 28x28 image the model saw, as a PNG data URL"}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "mnist-draw",
        "version": "1.0",
        "description": "Draw a digit; a CNN trained on MNIST reads it. Any image is size-"
        "normalised and centred the way MNIST digits were before the model sees it. "
        "A drawing may hold one digit, a number (digits side by side, read left to right) "
        "or something that is not a digit. "
        f"Limits: {MAX_BODY_BYTES} bytes a body, {MAX_PIXELS} decoded pixels an image, "
        f"{MAX_PIECES} things in one drawing.",
    },
    "paths": {
        "/cgi-bin/mnist.py": {
            "post": {
                "summary": "Read a handwritten digit or number",
                "parameters": [
                    {
                        "name": "explain",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["1", "0", "true", "false"]},
                        "description": "1: each entry of `digits` also carries `explain`",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "text/plain": {
                            "schema": {
                                "type": "string",
                                "example": "data:image/png;base64,iVBORw0...",
                            }
                        },
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["image"],
                                "properties": {
                                    "image": {
                                        "type": "string",
                                        "description": "a data URL of an image, or bare base64",
                                    },
                                    "explain": {
                                        "type": "boolean",
                                        "description": "as the query string's explain=1",
                                    },
                                    "strokes": {
                                        "type": "array",
                                        "maxItems": MAX_STROKES,
                                        "description": "how the drawing was drawn, where the "
                                        "client knows (the page does): each pen stroke's centre "
                                        "line as [x, y] points in the image's pixels, in the "
                                        f"order drawn, at most {MAX_STROKE_POINTS:,} points in "
                                        "all. Digits that touch are then told apart by the "
                                        "strokes that drew them.",
                                        "items": {
                                            "type": "array",
                                            "minItems": 1,
                                            "items": {
                                                "type": "array",
                                                "items": {"type": "number"},
                                                "minItems": 2,
                                                "maxItems": 2,
                                            },
                                        },
                                    },
                                },
                            }
                        },
                        **{
                            t: {"schema": {"type": "string", "format": "binary"}}
                            for t in IMAGE_TYPES
                        },
                    },
                },
                "responses": {
                    "200": {
                        "description": "The number read, each thing drawn with its digit (or "
                        "null: not a digit), confidence and ten scores",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Recognition"}
                            }
                        },
                    },
                    **_errors(),
                },
            }
        },
        "/api/health": {
            "get": {
                "summary": "Liveness and the model in use",
                "responses": {"200": {"description": "Serving"}},
            }
        },
    },
    "components": {
        "schemas": {
            "Error": _ERROR,
            "Recognition": {
                "type": "object",
                "required": [
                    "digit",
                    "number",
                    "confidence",
                    "not_a_digit",
                    "scores",
                    "input",
                    "digits",
                    "model",
                ],
                "description": "With one thing drawn, digit, confidence, not_a_digit, scores "
                "and input are its entry's, as the first version of this API answered; with "
                "several, digit, scores and input are null.",
                "properties": {
                    "number": {
                        "type": ["string", "null"],
                        "description": "the digits read left to right, as a string; null when "
                        "any thing drawn is not a digit",
                    },
                    "digit": {**_DIGIT, "description": "the digit read, with one thing drawn"},
                    "confidence": {
                        **_PROBABILITY,
                        "description": "the probability that the reading is right: of the "
                        "digit or 'not a digit' with one thing drawn; of the whole number with "
                        "several",
                    },
                    "not_a_digit": {
                        **_PROBABILITY,
                        "description": "the probability that the drawing (with several "
                        "things: any of them) is not a digit",
                    },
                    "scores": {**_SCORES, "type": ["array", "null"]},
                    "input": {**_INPUT, "type": ["string", "null"]},
                    "digits": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_PIECES,
                        "items": {"$ref": "#/components/schemas/Entry"},
                        "description": "one entry per thing drawn, left to right",
                    },
                    "model": {"type": "string", "description": "model name and file hash"},
                },
            },
            "Entry": {
                "type": "object",
                "required": ["digit", "confidence", "not_a_digit", "scores", "box", "input"],
                "properties": {
                    "digit": _DIGIT,
                    "confidence": {
                        **_PROBABILITY,
                        "description": "the probability that this reading is right: of the "
                        "digit, or of 'not a digit' when digit is null",
                    },
                    "not_a_digit": {
                        **_PROBABILITY,
                        "description": "the probability that this thing is not a digit (a "
                        "letter, a face, a scribble); above the model's threshold, digit is "
                        "null; 1 for a dot",
                    },
                    "scores": _SCORES,
                    "box": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "minItems": 4,
                        "maxItems": 4,
                        "description": "x, y, width, height in the posted image's pixels",
                    },
                    "input": _INPUT,
                    "explain": {
                        "type": "object",
                        "description": "with explain=1 only: occlusion saliency for the digit "
                        "and the runner-up, and sprites of the convolution stages' feature "
                        "maps (see README)",
                    },
                },
            },
        }
    },
}
