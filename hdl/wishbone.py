"""Wishbone B4: the bus signature, named as amaranth-soc's ``wishbone.Signature``.

amaranth-soc has no usable release on PyPI, so this module mirrors the part of its
``amaranth_soc.wishbone.bus`` that slique needs: :class:`Signature` with the same members
(``adr``, ``dat_w``, ``dat_r``, ``sel``, ``cyc``, ``stb``, ``we``, ``ack`` and the optional
``err``, ``rty``, ``stall``, ``lock``, ``cti``, ``bte``), the same parameters and the same
:class:`Feature`, :class:`CycleType` and :class:`BurstTypeExt` enums, so that code written
against it moves to amaranth-soc by changing an import.

The signature is seen from the initiator (master): its outputs are ``Out``. A target (slave)
component has an ``In(wishbone.Signature(...))`` member, conventionally named ``bus``.

``adr`` is a word address (one word is ``data_width`` bits); ``sel`` has one bit per
``granularity`` bits of data. A 32-bit bus with byte granularity reaches byte offset ``o`` at
``adr = o >> 2`` with ``sel`` selecting the bytes.

Handshakes: without the ``stall`` feature a bus is *classic* (the initiator holds ``stb`` and
the request until ``ack``, ``err`` or ``rty``); with it, *pipelined* (a request is taken in
every cycle with ``stb`` high and ``stall`` low, and answered later, in order, one
``ack``/``err``/``rty`` per request).
"""

from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["Feature", "CycleType", "BurstTypeExt", "Signature"]


class CycleType(enum.Enum, shape=3):
    """Wishbone B4 cycle type identifier (``cti``)."""
    CLASSIC = 0b000
    CONST_BURST = 0b001
    INCR_BURST = 0b010
    END_OF_BURST = 0b111


class BurstTypeExt(enum.Enum, shape=2):
    """Wishbone B4 burst type extension (``bte``)."""
    LINEAR = 0b00
    WRAP_4 = 0b01
    WRAP_8 = 0b10
    WRAP_16 = 0b11


class Feature(enum.Enum):
    """Optional Wishbone signals."""
    ERR = "err"
    RTY = "rty"
    STALL = "stall"
    LOCK = "lock"
    CTI = "cti"
    BTE = "bte"


class Signature(wiring.Signature):
    """Wishbone B4 interface signature, from the initiator's side.

    Parameters
    ----------
    addr_width : int
        Width of ``adr`` (a word address), at least 0.
    data_width : int
        Width of ``dat_w`` and ``dat_r``: 8, 16, 32 or 64.
    granularity : int or None
        Bits selected by one ``sel`` bit: 8, 16, 32 or 64, at most ``data_width``; ``None`` is
        ``data_width`` (one ``sel`` bit).
    features : iterable of :class:`Feature` or str
        Optional signals: ``"err"``, ``"rty"``, ``"stall"`` (pipelined), ``"lock"``, ``"cti"``,
        ``"bte"``.

    Members
    -------
    adr : ``Out(addr_width)``
    dat_w : ``Out(data_width)``
    dat_r : ``In(data_width)``
    sel : ``Out(data_width // granularity)``
    cyc, stb, we : ``Out(1)``
    ack : ``In(1)``
    err, rty, stall : ``In(1)``, when the feature is present
    lock : ``Out(1)``, when present
    cti : ``Out(CycleType)``, bte : ``Out(BurstTypeExt)``, when present
    """

    def __init__(self, *, addr_width, data_width, granularity=None, features=frozenset()):
        if granularity is None:
            granularity = data_width
        if isinstance(addr_width, bool) or not isinstance(addr_width, int) or addr_width < 0:
            raise TypeError(f"Address width must be a non-negative integer, not {addr_width!r}")
        if data_width not in (8, 16, 32, 64):
            raise ValueError(f"Data width must be one of 8, 16, 32, 64, not {data_width!r}")
        if granularity not in (8, 16, 32, 64) or granularity > data_width:
            raise ValueError(f"Granularity must be one of 8, 16, 32, 64 and at most the data "
                             f"width {data_width}, not {granularity!r}")
        features = frozenset(Feature(feature) for feature in features)
        self._addr_width = addr_width
        self._data_width = data_width
        self._granularity = granularity
        self._features = features
        members = {
            "adr": Out(addr_width),
            "dat_w": Out(data_width),
            "dat_r": In(data_width),
            "sel": Out(data_width // granularity),
            "cyc": Out(1),
            "stb": Out(1),
            "we": Out(1),
            "ack": In(1),
        }
        for feature in (Feature.ERR, Feature.RTY, Feature.STALL):
            if feature in features:
                members[feature.value] = In(1)
        if Feature.LOCK in features:
            members["lock"] = Out(1)
        if Feature.CTI in features:
            members["cti"] = Out(CycleType)
        if Feature.BTE in features:
            members["bte"] = Out(BurstTypeExt)
        super().__init__(members)

    addr_width = property(lambda self: self._addr_width, doc="Width of ``adr``.")
    data_width = property(lambda self: self._data_width, doc="Width of the data buses.")
    granularity = property(lambda self: self._granularity, doc="Bits per ``sel`` bit.")
    features = property(lambda self: self._features, doc="Optional signals present.")

    def __eq__(self, other):
        return (type(other) is type(self) and
                (self.addr_width, self.data_width, self.granularity, self.features) ==
                (other.addr_width, other.data_width, other.granularity, other.features))

    def __hash__(self):
        return hash((self.addr_width, self.data_width, self.granularity, self.features))

    def __repr__(self):
        features = ", ".join(sorted(feature.value for feature in self.features))
        return (f"wishbone.Signature(addr_width={self.addr_width}, data_width={self.data_width}, "
                f"granularity={self.granularity}, features={{{features}}})")
