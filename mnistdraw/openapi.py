"""The OpenAPI 3.1 document of the API, served at /api/openapi.json. Its error answers are
made from the table of errors (mnistdraw/errors.py)."""

from .api import IMAGE_TYPES, MAX_BODY_BYTES
from .errors import ERRORS
from .preprocess import MAX_PIXELS

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


OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "mnist-draw",
        "version": "1.0",
        "description": "Draw a digit; a CNN trained on MNIST reads it. Any image is size-"
        "normalised and centred the way MNIST digits were before the model sees it. "
        f"Limits: {MAX_BODY_BYTES} bytes a body, {MAX_PIXELS} decoded pixels an image.",
    },
    "paths": {
        "/cgi-bin/mnist.py": {
            "post": {
                "summary": "Recognise a handwritten digit",
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
                                    }
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
                        "description": "The digit (or null: not a digit), its confidence and all "
                        "ten scores",
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
                    "model",
                ],
                "properties": {
                    "digit": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "maximum": 9,
                        "description": "the digit read; null when the drawing is not a digit",
                    },
                    "number": {
                        "type": ["string", "null"],
                        "description": "the digits read, as a string; null when not a digit",
                    },
                    "confidence": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                        "description": "the probability that the answer is right: of the "
                        "digit read, or of 'not a digit' when digit is null",
                    },
                    "not_a_digit": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                        "description": "the probability that the drawing is not a digit "
                        "(a letter, a face, a scribble); above the model's threshold, "
                        "digit and number are null",
                    },
                    "scores": {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 10,
                        "maxItems": 10,
                        "description": "scores of the digits 0-9, summing to 1: if it is a "
                        "digit, which one (also when digit is null: the closest guess)",
                    },
                    "input": {
                        "type": "string",
                        "description": "the 28x28 image the model saw, as a PNG data URL",
                    },
                    "model": {"type": "string", "description": "model name and file hash"},
                },
            },
        }
    },
}
