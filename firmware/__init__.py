"""Firmware: the re-routine scheduler, the NICOps interface and its backends, applications.

- :mod:`slique.firmware.reroutine`: ``@reroutine``, the routine context (``rr.step``,
  ``rr.wait``, ``rr.sleep``, ``rr.read``, ``rr.spawn``) and the :class:`Scheduler` (M-ICCs,
  memo table with freelist, timeout sweeper, trace records);
- :mod:`slique.firmware.errors`: errors as values (:class:`Result`, EAGAIN, ETIMEDOUT,
  ECONNRESET, ENOMEM);
- :mod:`slique.firmware.nicops`: the NIC interface; backends :class:`GoldenNIC` (golden models),
  :class:`CocotbNIC` (gateware in co-simulation), :class:`BoardNIC` (a board);
- :mod:`slique.firmware.apps`: ``echo``, ``sendfile``, ``reorder``, ``rebalance``.
"""

from .errors import (EAGAIN, ECANCELED, ECONNRESET, EFAULT, ENOMEM, ETIMEDOUT, OK, Result,
                     errno_name)
from .memo import MemoTable
from .reroutine import FirmwareReason, RoutineContext, Scheduler, reroutine, tag_micc


__all__ = ["reroutine", "Scheduler", "RoutineContext", "MemoTable", "Result", "OK", "EAGAIN",
           "ETIMEDOUT", "ECONNRESET", "ENOMEM", "EFAULT", "ECANCELED", "errno_name",
           "FirmwareReason", "tag_micc", "backend"]


def backend(name, **options):
    """A NIC of backend ``name``: ``"golden"``, ``"verilator"`` or ``"board"``."""
    if name == "golden":
        from .golden_nic import GoldenNIC
        return GoldenNIC(**options)
    if name == "verilator":
        from .cocotb_nic import CocotbNIC
        return CocotbNIC(**options)
    if name == "board":
        from .board_nic import BoardNIC
        return BoardNIC(**options)
    raise ValueError(f"No backend {name!r}; there are golden, verilator and board")
