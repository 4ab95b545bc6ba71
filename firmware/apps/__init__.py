"""Applications: re-routine firmware that runs unchanged on every NICOps backend.

Each module has ``NAME``, ``SUMMARY`` and ``run(nic, *, seed, packets, backend, progress)``,
which answers an :class:`~slique.firmware.apps.common.AppResult`.
"""

import importlib


__all__ = ["APPS", "load"]

#: Application name -> module (imported when used).
APPS = ("echo", "sendfile", "reorder", "rebalance")


def load(name):
    """The module of application ``name``."""
    if name not in APPS:
        raise ValueError(f"No application {name!r}; there are {', '.join(APPS)}")
    return importlib.import_module(f"{__name__}.{name}")
