"""Register map of the i225-compatible DMA engine, at the i225's offsets, and the documented
outcome of every bad input.

API
---
``dma_registers(queues=1, *, window=True) -> RegisterMap``
    The engine's :class:`~slique.hdl.registers.RegisterMap` for ``queues`` TX / RX queue pairs
    (1 to :data:`MAX_QUEUES`, the i225's 4), with per-queue registers as
    :class:`~slique.hdl.registers.RegisterArray` at the i225 stride (:data:`QUEUE_STRIDE`,
    ``TDT(n) = 0xE018 + 0x40 n``). ``window`` adds the DMA window (aperture) registers
    ``DMAWBAL`` / ``DMAWBAH`` / ``DMAWLAL`` / ``DMAWLAH``. Build the engine's
    :class:`~slique.hdl.RegisterBank` and its golden :class:`~slique.sim.RegisterFile` from the
    same call. The RSS registers (``MRQC``, ``RETA``, ``RSSRK``, at the i225's offsets) are the
    flow demux's (:mod:`slique.hdl.block_registers`): the engine takes each RX frame's queue
    and hash from its RX stream.
``DMA_REGISTERS``
    ``dma_registers(MAX_QUEUES, window=True)``: the full map, for the generated
    ``docs/registers.md`` and for drivers that want every constant.
``TxQueueError`` / ``RxQueueError``
    :class:`enum.IntEnum` of the bit numbers of ``TQERR(n)`` / ``RQERR(n)``, one per bad-input
    outcome (the register fields have the same names in lower case).
``EICR_TXQ_SHIFT``, ``EICR_RXQ_SHIFT``, ``EICR_TXERR_SHIFT``, ``EICR_RXERR_SHIFT``
    Where each group of per-queue cause bits starts in ``EICR`` / ``EICS`` / ``EIMS`` /
    ``EIMC`` (bit ``shift + n`` is queue ``n``).

The documentation strings below are the engine's contract: the gateware
(:mod:`slique.hdl.dma.engine`), the golden model (:mod:`slique.sim.dma`) and the driver all
follow them, and ``docs/registers.md`` is generated from them (``python -m slique.regmap``).
"""

import enum

from ..registers import Field, Register, RegisterArray, RegisterMap


__all__ = ["MAX_QUEUES", "QUEUE_STRIDE", "TxQueueError", "RxQueueError", "dma_registers",
           "DMA_REGISTERS", "EICR_TXQ_SHIFT", "EICR_RXQ_SHIFT", "EICR_TXERR_SHIFT",
           "EICR_RXERR_SHIFT", "COUNTERS", "OCTET_INC_WIDTH", "check_queues"]


#: Most queue pairs (the i225 has four TX and four RX queues).
MAX_QUEUES = 4

#: Bytes between the registers of queue n and queue n + 1 (igc_regs.h: ``0x40 * (_n)``).
QUEUE_STRIDE = 0x40

#: Bits of octet-counter increments per event (a frame is at most 9728 bytes < 2**14).
OCTET_INC_WIDTH = 14

#: EICR bit groups: bit ``shift + n`` is about queue ``n``.
EICR_TXQ_SHIFT = 0
EICR_RXQ_SHIFT = 4
EICR_TXERR_SHIFT = 8
EICR_RXERR_SHIFT = 12


class TxQueueError(enum.IntEnum):
    """Bits of ``TQERR(n)``: why TX queue ``n`` stopped (see the register's documentation)."""
    RING_LENGTH = 0
    TAIL = 2
    DESCRIPTOR = 3
    WINDOW = 4
    BUS_ERROR = 5
    ABORTED = 6


class RxQueueError(enum.IntEnum):
    """Bits of ``RQERR(n)``: why RX queue ``n`` stopped (see the register's documentation)."""
    RING_LENGTH = 0
    SRRCTL = 1
    TAIL = 2
    WINDOW = 4
    BUS_ERROR = 5
    ABORTED = 6


#: The statistics counters: name -> (offset, inc_width, doc). All read-to-clear, 32-bit,
#: saturating (the i225's statistics are clear-on-read).
COUNTERS = {
    "HTDPMC": (0x403C, 1, (
        "TX frames discarded: a frame whose descriptors were refused (`TQERR` DESCRIPTOR or "
        "WINDOW), whose data read or write-back met a bus error, or that was cut by a queue "
        "disable. Counted once per frame; TX conservation: `TPT == GPTC + HTDPMC`.")),
    "MPC": (0x4010, 1, (
        "Missed RX frames: a frame for an enabled, running queue that found fewer free "
        "descriptors (from RDH up to RDT) than it needs (length / buffer size, rounded up). "
        "It is dropped whole: no descriptor is written back, RDH does not move (buffers of "
        "descriptors it was partly written into may hold part of it).")),
    "GPRC": (0x4074, 1, "Good RX frames: written to host memory and written back (EOP, DD)."),
    "GPTC": (0x4080, 1, "Good TX frames: sent whole on the TX stream (ended with `last`)."),
    "GORCL": (0x4088, OCTET_INC_WIDTH, (
        "Octets of the good RX frames (GPRC). 32-bit and saturating like every counter "
        "here: read it at least every 2**32 octets (GORCH reads 0).")),
    "GOTCL": (0x4090, OCTET_INC_WIDTH, (
        "Octets of the good TX frames (GPTC). 32-bit and saturating: read it at least every "
        "2**32 octets (GOTCH reads 0).")),
    "RNBC": (0x40A0, 1, (
        "RX frames that found no free buffer: the engine has no packet buffer to hold a "
        "frame until software refills, so this counts the same events as MPC.")),
    "ROC": (0x40AC, 1, "RX frames longer than 9728 bytes (`MAX_FRAME_BYTES`), dropped "
                       "without touching host memory."),
    "TPR": (0x40D0, 1, (
        "Total RX frames offered on the RX stream, whatever became of them. RX conservation: "
        "`TPR == GPRC + MPC + ROC + sum(RQDPC(n))`.")),
    "TPT": (0x40D4, 1, (
        "Total TX frames the engine took from the rings: a frame counts once its first "
        "descriptor has been read, and ends good or discarded: `TPT == GPTC + HTDPMC`.")),
}


def check_queues(queues):
    """Return ``queues`` if it is an integer from 1 to :data:`MAX_QUEUES`, else raise."""
    if isinstance(queues, bool) or not isinstance(queues, int):
        raise TypeError(f"queues must be an integer, not {queues!r}")
    if not 1 <= queues <= MAX_QUEUES:
        raise ValueError(f"queues must be from 1 to {MAX_QUEUES} (the i225's queue pairs), "
                         f"not {queues}")
    return queues


def _bits(shift, queues):
    return (shift + queues - 1, shift) if queues > 1 else shift


def _cause_fields(queues, access, verb):
    return [
        Field("TXQ", _bits(EICR_TXQ_SHIFT, queues), access,
              f"{verb} TX done of queue n (bit {EICR_TXQ_SHIFT} + n): a TX write-back with DD "
              f"was written (a descriptor with RS)."),
        Field("RXQ", _bits(EICR_RXQ_SHIFT, queues), access,
              f"{verb} RX done of queue n (bit {EICR_RXQ_SHIFT} + n): an RX frame was written "
              f"back (its EOP descriptor has DD)."),
        Field("TXERR", _bits(EICR_TXERR_SHIFT, queues), access,
              f"{verb} TX error of queue n (bit {EICR_TXERR_SHIFT} + n): a bit of TQERR(n) "
              f"was set."),
        Field("RXERR", _bits(EICR_RXERR_SHIFT, queues), access,
              f"{verb} RX error of queue n (bit {EICR_RXERR_SHIFT} + n): a bit of RQERR(n) "
              f"was set."),
    ]


_LATCHED = ("The engine latches it when the queue is enabled (ENABLE 0 -> 1); writes while the "
            "queue is enabled take effect at the next enable.")


def _ring_registers(prefix, base, queues, direction):
    """BAL, BAH, LEN, H, T of one direction (``prefix`` ``"T"`` or ``"R"``)."""
    ring = f"{direction} ring"
    return [
        RegisterArray(f"{prefix}DBAL", base + 0x00, queues, QUEUE_STRIDE, fields=[
            Field("ADDRESS", (31, 7), "rw",
                  f"Bits 31:7 of the {ring} base (128-byte aligned; bits 6:0 read 0 and "
                  f"ignore writes). {_LATCHED}"),
        ], doc=f"{ring} base address, low 32 bits."),
        RegisterArray(f"{prefix}DBAH", base + 0x04, queues, QUEUE_STRIDE, "rw", doc=(
            f"{ring} base address, high 32 bits. {_LATCHED}")),
        RegisterArray(f"{prefix}DLEN", base + 0x08, queues, QUEUE_STRIDE, fields=[
            Field("LENGTH", (19, 0), "rw", (
                f"{ring} length in bytes: 16 x descriptors, a non-zero multiple of 128. "
                f"Stored as written; when the queue is enabled with a length of zero or not a "
                f"multiple of 128, the engine clears ENABLE at once, sets {prefix}QERR."
                f"RING_LENGTH and touches no memory. All the checks at enable (ring length, "
                f"head and tail, window, SRRCTL) are made together and set every bit that "
                f"applies. {_LATCHED}")),
        ], doc=f"{ring} length."),
        RegisterArray(f"{prefix}DH", base + 0x10, queues, QUEUE_STRIDE, fields=[
            Field("HEAD", (15, 0), "rw", (
                f"{ring} head: the next descriptor the engine will process; descriptors from "
                f"head up to tail - 1 belong to the engine. Software writes it (0) only while "
                f"the queue is disabled; the engine takes it at enable and advances it past "
                f"each finished frame (never into the middle of a frame). A write while the "
                f"queue is enabled is ignored by the engine (the register shows the written "
                f"value until the engine next moves the head). After an error it points at "
                f"the first descriptor of the frame that was not finished."),
                  hw_write=True),
        ], doc=f"{ring} head (hardware)."),
        RegisterArray(f"{prefix}DT", base + 0x18, queues, QUEUE_STRIDE, fields=[
            Field("TAIL", (15, 0), "rw", (
                f"{ring} tail: one past the last descriptor software has handed over. A tail "
                f"at or beyond the ring's end ({prefix}DLEN / 16) while the queue is enabled "
                f"(written, or found at enable), or a head beyond it at enable, stops the "
                f"queue: ENABLE cleared, {prefix}QERR.TAIL set, no descriptor at or after the "
                f"head fetched.")),
        ], doc=f"{ring} tail (software)."),
    ]


def _control_register(name, offset, queues, direction):
    return RegisterArray(name, offset, queues, QUEUE_STRIDE, fields=[
        Field("PTHRESH", (4, 0), "rw", "Prefetch threshold (kept for igc; the engine prefetches "
                                        "as its build allows)."),
        Field("HTHRESH", (12, 8), "rw", "Host threshold (kept for igc)."),
        Field("WTHRESH", (20, 16), "rw", (
            "Write-back threshold: the engine may hold up to this many write-backs to write "
            "them in one burst, and writes what it holds as soon as the queue has no other "
            "work, so a write-back never waits for a later frame.")),
        Field("ENABLE", 25, "rw", (
            f"{direction} queue enable. 0 -> 1 latches the ring registers and checks them; "
            f"the engine clears it when the queue stops on an error. Writing 0 stops the "
            f"queue: no new bus request; requests already issued complete; a frame cut in "
            f"the middle is dropped (see the QERR register's ABORTED) and none of its "
            f"descriptors is written back."), hw_write=True),
    ], doc=f"{direction} descriptor control (igc writes PTHRESH 8, HTHRESH 1, WTHRESH 16 and "
           f"ENABLE).")


def _tx_error_register(queues):
    return RegisterArray("TQERR", 0xE03C, queues, QUEUE_STRIDE, fields=[
        Field("RING_LENGTH", int(TxQueueError.RING_LENGTH), "w1c",
              "TDLEN was zero or not a multiple of 128 when the queue was enabled."),
        Field("TAIL", int(TxQueueError.TAIL), "w1c",
              "TDT (or, at enable, TDH) was at or beyond the ring's end (TDLEN / 16)."),
        Field("DESCRIPTOR", int(TxQueueError.DESCRIPTOR), "w1c", (
            "A descriptor of the frame at TDH was refused: DTALEN 0, DEXT clear or DTYP not "
            "data (3), the frame longer than 9728 bytes (MAX_FRAME_BYTES), or no EOP within "
            "32 descriptors (MAX_FRAME_DESCRIPTORS). The engine checks every descriptor of a "
            "frame before any of its data leaves, so nothing of the frame is sent.")),
        Field("WINDOW", int(TxQueueError.WINDOW), "w1c", (
            "An address outside the DMA window (or beyond the master's address width): the "
            "ring at enable, or a buffer [buffer_addr, buffer_addr + DTALEN) of the frame at "
            "TDH. Refused before any access; nothing of the frame is sent.")),
        Field("BUS_ERROR", int(TxQueueError.BUS_ERROR), "w1c", (
            "The master saw `err` on a descriptor fetch, a data read or a write-back. A failed "
            "fetch stops the queue when the engine reaches that descriptor (frames before it "
            "are finished; the frame it belongs to is discarded if its first descriptor was "
            "read). TX is store-and-forward: a frame leaves on the TX stream only once all of "
            "its data has been read, so a frame whose data read failed is discarded (HTDPMC) "
            "and nothing of it leaves. A frame sent whole whose write-back failed counts as "
            "good (GPTC) but gets no DD.")),
        Field("ABORTED", int(TxQueueError.ABORTED), "w1c", (
            "Software cleared ENABLE while a frame was in progress (some of its descriptors "
            "taken, or its data not all read): the frame is discarded (HTDPMC), nothing of it "
            "leaves and none of its descriptors is written back. A frame whose data has all "
            "been read still leaves whole (store-and-forward) and is counted good.")),
    ], doc=("TX queue error causes (slique; not on the i225). Any error stops the queue: "
            "ENABLE is cleared, TDH is left at the first descriptor of the unfinished frame, "
            "which is discarded (counted in TPT and HTDPMC if its first descriptor was read), "
            "the bit is set here and TXERR(n) in EICR. Write 1 to clear; re-enable after "
            "fixing the ring."))


def _rx_error_register(queues):
    return RegisterArray("RQERR", 0xC03C, queues, QUEUE_STRIDE, fields=[
        Field("RING_LENGTH", int(RxQueueError.RING_LENGTH), "w1c",
              "RDLEN was zero or not a multiple of 128 when the queue was enabled."),
        Field("SRRCTL", int(RxQueueError.SRRCTL), "w1c", (
            "SRRCTL had BSIZEPKT 0 or DESCTYPE not advanced one-buffer (1) when the queue "
            "was enabled.")),
        Field("TAIL", int(RxQueueError.TAIL), "w1c",
              "RDT (or, at enable, RDH) was at or beyond the ring's end (RDLEN / 16)."),
        Field("WINDOW", int(RxQueueError.WINDOW), "w1c", (
            "An address outside the DMA window (or beyond the master's address width): the "
            "ring at enable, or a buffer [pkt_addr, pkt_addr + buffer size) of a descriptor "
            "the frame needs, or a pkt_addr that is not a multiple of the host bus width (igc's "
            "buffers are page-aligned). Refused before any write to it; the frame is dropped "
            "(RQDPC).")),
        Field("BUS_ERROR", int(RxQueueError.BUS_ERROR), "w1c", (
            "The master saw `err` on a descriptor fetch, a data write or a write-back; the "
            "frame is dropped (RQDPC) and no descriptor of it is written back after the "
            "error.")),
        Field("ABORTED", int(RxQueueError.ABORTED), "w1c", (
            "Software cleared ENABLE while a frame was being written: the frame is dropped "
            "(RQDPC) and none of its descriptors written back; its buffers may hold part of "
            "it.")),
    ], doc=("RX queue error causes (slique; not on the i225). Any error stops the queue: "
            "ENABLE is cleared, RDH is left at the first descriptor of the unfinished frame, "
            "the bit is set here and RXERR(n) in EICR. Write 1 to clear."))


def dma_registers(queues=1, *, window=True):
    """The DMA engine's register map (see the module documentation).

    Parameters
    ----------
    queues : int
        TX / RX queue pairs, 1 to :data:`MAX_QUEUES`.
    window : bool
        Include the DMA window registers.
    """
    check_queues(queues)
    registers = []
    # -- interrupts --------------------------------------------------------------------------
    registers += [
        Register("EICS", 0x1520, fields=_cause_fields(queues, "w", "Set"), doc=(
            "Extended interrupt cause set: writing 1 raises the EICR bit.")),
        Register("EIMS", 0x1524, fields=_cause_fields(queues, "w1s", "Mask of"), doc=(
            "Extended interrupt mask set / read: writing 1 enables the cause. The engine's "
            "`irq` output is high while `EICR & EIMS` is non-zero.")),
        Register("EIMC", 0x1528, fields=_cause_fields(queues, "w", "Clear mask of"), doc=(
            "Extended interrupt mask clear: writing 1 clears the EIMS bit.")),
        Register("EICR", 0x1580, fields=_cause_fields(queues, "w1c", "Cause:"), doc=(
            "Extended interrupt cause (slique's bit layout: per-queue TX done, RX done, TX "
            "error, RX error). Write 1 to clear.")),
    ]
    # -- statistics ----------------------------------------------------------------------------
    for name, (offset, inc_width, doc) in COUNTERS.items():
        registers.append(Register(name, offset, "rc", inc_width=inc_width, doc=doc))
    registers += [
        Register("GORCH", 0x408C, "r", doc="High half of the good RX octets: reads 0 (GORCL "
                                            "is a 32-bit saturating counter)."),
        Register("GOTCH", 0x4094, "r", doc="High half of the good TX octets: reads 0 (GOTCL "
                                            "is a 32-bit saturating counter)."),
    ]
    # -- RX queues -----------------------------------------------------------------------------
    registers += _ring_registers("R", 0xC000, queues, "RX")
    registers += [
        RegisterArray("SRRCTL", 0xC00C, queues, QUEUE_STRIDE, reset=0x2 | (1 << 25), fields=[
            Field("BSIZEPKT", (6, 0), "rw", (
                "RX buffer size in 1 KB units (igc: buffer size >> 10). A frame longer than "
                "one buffer spans several descriptors, EOP on the last. 0 at enable stops the "
                "queue (RQERR.SRRCTL). Latched at enable.")),
            Field("BSIZEHDRSIZE", (13, 8), "rw", (
                "Header buffer size in 64-byte units (igc writes 4, 256 bytes). Kept for "
                "igc's read-modify-write of SRRCTL; one-buffer descriptors have no header "
                "buffer, so the engine does not use it.")),
            Field("DESCTYPE", (27, 25), "rw", (
                "Descriptor type: 1 = advanced one-buffer (igc's 0x02000000), the only one "
                "supported; anything else at enable stops the queue (RQERR.SRRCTL).")),
        ], doc="Split and replication receive control."),
        _control_register("RXDCTL", 0xC028, queues, "RX"),
        RegisterArray("RQDPC", 0xC030, queues, QUEUE_STRIDE, "rc", doc=(
            "RX queue drop packet count: frames for queue n dropped because the queue was "
            "disabled or stopped, or that the queue's error (window, bus error, disable mid-"
            "frame) cut.")),
        _rx_error_register(queues),
    ]
    # -- TX queues -----------------------------------------------------------------------------
    registers += _ring_registers("T", 0xE000, queues, "TX")
    registers += [
        _control_register("TXDCTL", 0xE028, queues, "TX"),
        _tx_error_register(queues),
    ]
    # -- DMA window ----------------------------------------------------------------------------
    if window:
        registers += [
            Register("DMAWBAL", 0xF000, fields=[
                Field("ENABLE", 0, "rw", (
                    "1: the engine touches host memory only inside [base, limit); every ring "
                    "and buffer is checked before any access (TQERR / RQERR WINDOW). 0: any "
                    "address the master reaches is allowed.")),
                Field("BASE", (31, 12), "rw", "Bits 31:12 of the window base (4 KB aligned)."),
            ], doc="DMA window base, low (slique: an IOMMU-like aperture)."),
            Register("DMAWBAH", 0xF004, "rw", doc="DMA window base, high 32 bits."),
            Register("DMAWLAL", 0xF008, fields=[
                Field("LIMIT", (31, 12), "rw", (
                    "Bits 31:12 of the window limit (exclusive, 4 KB aligned). A limit at or "
                    "below the base allows nothing.")),
            ], doc="DMA window limit, low."),
            Register("DMAWLAH", 0xF00C, "rw", doc="DMA window limit, high 32 bits."),
        ]
    return RegisterMap("dma", registers, doc=(
        f"The i225-compatible descriptor DMA engine (`slique.hdl.dma`), at the i225's offsets "
        f"with queue n's registers 0x{QUEUE_STRIDE:X} x n further on; this map shows "
        f"{queues} queue(s){', the DMA window' if window else ''}"
        f". The RSS registers (MRQC, RETA, RSSRK) are the flow demux's. Rings hold 16-byte advanced descriptors "
        f"(`slique.hdl.dma.descriptors`). Every bad input has one outcome, documented at the "
        f"register it concerns: the engine never writes host memory outside the rings and "
        f"buffers software gave it, never leaves a half-written write-back, and counts every "
        f"frame it drops (TPR / TPT conservation at the counters)."))


#: The full map (four queues, window): docs/registers.md and the driver constants.
DMA_REGISTERS = dma_registers(MAX_QUEUES, window=True)
