"""Shared fixtures: seeds that replay, and the length of random runs."""

import os
import zlib

import pytest


def pytest_addoption(parser):
    parser.addoption("--slique-cycles", type=int, default=None,
                     help="cycles of random traffic per lockstep test (default: each test's own)")


@pytest.fixture
def seed(request):
    """The test's seed: $SLIQUE_SEED if set, else a stable hash of the test's id."""
    if os.environ.get("SLIQUE_SEED"):
        return int(os.environ["SLIQUE_SEED"])
    return zlib.crc32(request.node.nodeid.encode())


@pytest.fixture
def replay(request, seed):
    """The command that replays this test with its seed."""
    return f"SLIQUE_SEED={seed} python -m pytest '{request.node.nodeid}'"


@pytest.fixture
def cycles(request):
    """Cycles of random traffic: ``--slique-cycles`` or the default given by the test."""
    def choose(default):
        return request.config.getoption("--slique-cycles") or default
    return choose
