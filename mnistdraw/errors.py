"""Every error that mnist-draw answers with, defined once: its code, HTTP status and message.

`api.error(code, **fields)` turns a code into an answer, for the API, the persistent server's
own refusals (an unknown URL, a method that a URL does not take), the CGI adapter and the
command line tool. Preprocessing raises codes only (`PreprocessError("blank", reason=...)`)
and knows nothing of HTTP. The OpenAPI document is built from this table, and
tests/test_errors.py checks README's error table against it.

To add an error: add its line here, return or raise its code, and add it to README's table."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Error:
    status: int
    message: str  # a str.format template: whoever reports the error fills its fields
    when: str  # in a few words, for the OpenAPI document
    endpoint: bool = True  # answered by POST /cgi-bin/mnist.py; False: by what is around it


ERRORS = {
    "empty_body": Error(400, "The request has no image. Draw a digit first.", "nothing sent"),
    "bad_request": Error(
        400,
        "{reason}",  # what could not be read: the JSON, the base64, the data URL
        "bad JSON, bad base64, or not a data URL of an image",
    ),
    "not_an_image": Error(
        400, "This is not a PNG, JPEG, WebP or GIF image.", "not a PNG, JPEG, WebP or GIF image"
    ),
    "corrupt_image": Error(
        400,
        "The image is truncated or corrupt and cannot be decoded.",
        "a truncated or corrupt image",
    ),
    "method_not_allowed": Error(
        405, "This URL accepts only {allow}.", "any method but POST (`Allow: POST`)"
    ),
    "payload_too_large": Error(
        413, "The request body is larger than {mib} MiB.", "a body over the size limit"
    ),
    "image_too_large": Error(
        413,
        "The image is too large: at most {limit:,} pixels are accepted.",
        "an image of more decoded pixels than the limit",
    ),
    "unsupported_media_type": Error(
        415,
        "Content-Type {content_type!r} is not accepted: send a data URL as text/plain, "
        'JSON {{"image": ...}}, or {image_types} bytes.',
        "a Content-Type that is not accepted",
    ),
    "blank": Error(
        422,
        "Nothing to recognise: {reason}. Draw a digit first.",
        "nothing drawn: an empty canvas, a dot, a filled blob, a speck, faint noise",
    ),
    "too_many_pieces": Error(
        422,
        "The drawing holds more than {limit} separate things: write a number of at most "
        "{limit} digits.",
        "more separate things drawn than any number holds",
    ),
    "internal": Error(
        500,
        "Something went wrong on the server. Please try again.",
        "a bug; logged on the server, a plain sentence for the visitor",
    ),
    # Around the endpoint: the persistent server's other URLs, the classic server's other
    # script, the command line tool.
    "not_found": Error(404, "Not Found", "any other URL of the persistent server", False),
    "forbidden": Error(
        403,
        "Training runs from the command line only.",
        "cgi-bin/train.py requested from the classic server",
        False,
    ),
    "unreadable_file": Error(
        400, "{path}: {reason}", "a file that the command line tool cannot read", False
    ),
}
