#!/usr/bin/env python3
"""Regenerate models/: `python cgi-bin/train.py [options]` (same as `python -m mnistdraw train`).

Every file in cgi-bin/ can be requested by any visitor of the classic CGI server, so this
script answers 403 and does nothing when it runs as a CGI request."""

import json
import os
import sys
from pathlib import Path

# The guard matters: training draws digits in spawned worker processes, and each of them
# imports this file again; unguarded, every worker would start a training of its own.
if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if os.environ.get("GATEWAY_INTERFACE") or os.environ.get("REQUEST_METHOD"):
        from mnistdraw.errors import ERRORS

        answer = {"error": {"code": "forbidden", "message": ERRORS["forbidden"].message}}
        sys.stdout.write(
            "Status: 403 Forbidden\r\nContent-Type: application/json\r\n\r\n" + json.dumps(answer)
        )
        sys.exit(0)
    from mnistdraw.__main__ import train_main

    sys.exit(train_main(sys.argv[1:], prog="python cgi-bin/train.py"))
