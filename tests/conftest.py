"""Shared fixtures: the real servers, started as subprocesses on free loopback ports."""

import sys

import pytest

from bench.servers import CLASSIC, persistent, running


@pytest.fixture(scope="session")
def classic_server():
    """`python -m http.server --cgi` in the repository root, as README runs it."""
    if sys.version_info >= (3, 15):
        pytest.fail("http.server --cgi was removed in Python 3.15; run the suite on 3.11-3.14")
    with running(*CLASSIC) as (_, base):
        yield base


@pytest.fixture(scope="session")
def persistent_server():
    """`python -m mnistdraw serve` with two workers."""
    with running(*persistent(2)) as (_, base):
        yield base


@pytest.fixture(params=["classic", "persistent"])
def server(request):
    """Each test that uses it runs against both modes."""
    return request.getfixturevalue(f"{request.param}_server")
