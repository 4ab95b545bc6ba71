"""Header parser: Ethernet II, 802.1Q, IPv4, IPv6, TCP and UDP, with the RSS hash on the fly."""

from amaranth import *
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from .packet import beat_bytes, packet_layout
from .toeplitz import HASH_WIDTH, RSS_KEY_BYTES, Toeplitz, check_key_bytes


__all__ = ["Verdict", "FlowKind", "FlowKey", "ParseResult", "HeaderParser",
           "ETHERTYPE_IPV4", "ETHERTYPE_IPV6", "ETHERTYPE_VLAN", "PROTOCOL_TCP", "PROTOCOL_UDP",
           "LENGTH_WIDTH"]


ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100
PROTOCOL_TCP = 6
PROTOCOL_UDP = 17

#: Bits of the frame length the parser reports; it saturates at ``2 ** LENGTH_WIDTH - 1``.
LENGTH_WIDTH = 16

_ETHERNET_HEADER = 14
_VLAN_TAG = 4
_IPV4_HEADER = 20
_IPV6_HEADER = 40
_PORTS = 4
#: Largest header offset the parser looks at: Ethernet, a tag, IPv4 with 40 bytes of options,
#: the ports.
_LAST_HEADER_BYTE = _ETHERNET_HEADER + _VLAN_TAG + 60 + _PORTS - 1


class Verdict(enum.Enum, shape=2):
    """What the parser makes of a frame."""
    #: Headers complete and consistent (or a frame that is not IP: only its Ethernet header
    #: counts).
    OK = 0
    #: The frame ends before a header it announces does (a runt below 14 bytes included).
    TRUNCATED = 1
    #: A header contradicts itself or the frame (bad version or IHL, an IP length beyond the
    #: frame or too short for its own headers), or a framing error (``first`` misplaced).
    MALFORMED = 2


class FlowKind(data.Struct):
    """What a frame carries. Neither ``ipv4`` nor ``ipv6``: not IP. ``tcp`` / ``udp`` only for
    a datagram whose ports were parsed (never for an IPv4 fragment)."""
    ipv4: 1
    ipv6: 1
    tcp: 1
    udp: 1
    vlan: 1


class FlowKey(data.Struct):
    """The flow a frame belongs to. Fields a frame does not have are 0: addresses of a frame that
    is not IP, ports of a datagram that is not TCP or UDP (or a fragment), ``vlan`` of an
    untagged frame. IPv4 addresses are in the low 32 bits. All in network order (the first byte
    on the wire most significant)."""
    kind: FlowKind
    #: The 802.1Q tag control information (PCP, DEI, VID).
    vlan: 16
    src: 128
    dst: 128
    src_port: 16
    dst_port: 16


class ParseResult(data.Struct):
    """One frame's parse. ``key`` and the hashes are meaningful only when ``verdict`` is OK."""
    verdict: Verdict
    key: FlowKey
    #: Frame length in bytes (saturates).
    length: LENGTH_WIDTH
    #: Toeplitz hash of source and destination address (the RSS "IPv4" / "IPv6" hash).
    hash_addresses: HASH_WIDTH
    #: Toeplitz hash of addresses and ports (the RSS "TCP" / "UDP" hash; when ``tcp`` or ``udp``).
    hash_ports: HASH_WIDTH


class HeaderParser(wiring.Component):
    """Parses the headers of every frame of a packet stream into a :class:`ParseResult`.

    The parser watches beats (it never stalls them) and keeps only the header fields it needs;
    the Toeplitz hash (:class:`~slique.hdl.Toeplitz`) is fed the address and port bytes as they
    pass, so the hash is ready with the verdict. One result per frame, the cycle after the frame's
    ``last`` beat; the result is a view of the parser's registers and holds for that cycle only
    (frames may follow each other beat by beat, so results may come every cycle).

    What is parsed (frames without FCS; the rules of :mod:`slique.hdl.packet` for ``first``,
    ``last`` and ``keep``):

    - Ethernet II; one 802.1Q tag (type 0x8100); any other type (0x88A8 included) is "not IP";
    - IPv4 (type 0x0800) with options (IHL), TCP (6) and UDP (17) ports unless the datagram is a
      fragment (MF set or a fragment offset): a fragment hashes and matches as IP only, as on
      the Intel controllers;
    - IPv6 (type 0x86DD) with TCP or UDP as its next header; extension headers are not walked
      (such a datagram is IPv6 without ports).

    The verdict, checked in this order (the first that applies wins):

    1. a framing error (``first`` missing on the first beat, or set on a later one): MALFORMED;
    2. shorter than 14 bytes, or than 18 for a tagged frame: TRUNCATED;
    3. IPv4 shorter than its 20-byte header: TRUNCATED; version not 4 or IHL below 5:
       MALFORMED; shorter than ``IHL * 4`` (plus 4 bytes of ports for TCP or UDP): TRUNCATED;
       total length beyond the frame, or below ``IHL * 4`` (plus 4 for ports): MALFORMED;
    4. IPv6 shorter than its 40-byte header: TRUNCATED; version not 6: MALFORMED; shorter than
       the header plus 4 bytes of ports for TCP or UDP: TRUNCATED; payload length beyond the
       frame, or below 4 for TCP or UDP: MALFORMED;
    5. otherwise OK (a frame longer than its IP datagram is padded, and fine).

    Parameters
    ----------
    data_width : 8, 32 or 64
        Bits of ``data`` per beat.
    key_bytes : int
        Length of the RSS key.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(packet_layout(data_width), always_ready=True))``
        The beats of the stream, as transferred (``valid`` for every beat that moves).
    key : ``In(8 * key_bytes)``
        The RSS key, sampled at each frame's first beat.
    o_stream : ``Out(stream.Signature(ParseResult, always_ready=True))``
        One result per frame.
    """

    def __init__(self, data_width, *, key_bytes=RSS_KEY_BYTES):
        self._lanes = beat_bytes(data_width)
        self._key_bytes = check_key_bytes(key_bytes, data_width)
        # Lanes are realigned so that every IP header field starts at a unit boundary: a unit is
        # the bytes [lanes * index - skew, lanes * (index + 1) - skew) of the frame.
        self._skew = (-_ETHERNET_HEADER) % self._lanes
        self._unit_limit = (_LAST_HEADER_BYTE + self._skew) // self._lanes + 1
        super().__init__({
            "i_stream": In(stream.Signature(packet_layout(data_width), always_ready=True)),
            "key": In(8 * key_bytes),
            "o_stream": Out(stream.Signature(ParseResult, always_ready=True)),
        })

    data_width = property(lambda self: 8 * self._lanes, doc="Bits of ``data`` per beat.")

    def elaborate(self, platform):
        m = Module()
        m.submodules.toeplitz = toeplitz = Toeplitz(self._key_bytes, self.data_width)
        beat = self.i_stream.payload
        valid = self.i_stream.valid

        self._unit = Signal(range(self._unit_limit + 1))
        # The next beat starts a frame (``_unit == 0``, as a register of its own: it resets
        # hundreds of registers).
        self._starts = Signal(init=1)
        with m.If(valid):
            m.d.sync += self._starts.eq(beat.last)
        self._units_bytes(m, beat, valid)
        fields = self._capture(m, beat, valid)
        length, framing_error = self._measure(m, beat, valid)

        # The Toeplitz hash of the address and port units, as they pass.
        m.d.comb += [
            toeplitz.key.eq(self.key),
            toeplitz.start.eq(valid & self._starts),
            toeplitz.valid.eq(valid & (fields["addresses"] | fields["in_ports"])),
            toeplitz.data.eq(self._hash_data),
        ]
        if self._lanes > _PORTS:
            hash_addresses = toeplitz.hash
            hash_ports = toeplitz.hash ^ self._port_hash(m, toeplitz, valid & self._starts,
                                                         fields)
        else:
            hash_addresses = Signal(HASH_WIDTH)
            with m.If(valid & fields["first_ports"]):
                m.d.sync += hash_addresses.eq(toeplitz.hash)
            hash_addresses = Mux(fields["l4"], hash_addresses, toeplitz.hash)
            hash_ports = toeplitz.hash

        done = Signal()
        m.d.sync += done.eq(valid & beat.last)
        result = self.o_stream.payload
        key = result.key
        m.d.comb += [
            self.o_stream.valid.eq(done),
            result.length.eq(length),
            result.hash_ports.eq(hash_ports),
            result.hash_addresses.eq(hash_addresses),
            key.kind.ipv4.eq(fields["ipv4"]),
            key.kind.ipv6.eq(fields["ipv6"]),
            key.kind.tcp.eq(fields["l4"] & fields["tcp"]),
            key.kind.udp.eq(fields["l4"] & fields["udp"]),
            key.kind.vlan.eq(fields["tagged"]),
            key.vlan.eq(fields["tci"]),
            key.src.eq(fields["src"]),
            key.dst.eq(fields["dst"]),
            key.src_port.eq(fields["ports"][16:]),
            key.dst_port.eq(fields["ports"][:16]),
        ]
        self._judge(m, result, fields, length, framing_error)
        return m

    # Units: the bytes of one beat, realigned.

    def _units_bytes(self, m, beat, valid):
        """``self._bytes``: the bytes of the current unit, earliest first."""
        lanes = [beat.data[8 * lane:8 * lane + 8] for lane in range(self._lanes)]
        if self._skew:
            held = Signal(8 * self._skew)
            with m.If(valid):
                m.d.sync += held.eq(beat.data[-8 * self._skew:])
            lanes = [held[8 * lane:8 * lane + 8] for lane in range(self._skew)] + \
                lanes[:self._lanes - self._skew]
        self._bytes = lanes
        with m.If(valid):
            with m.If(beat.last):
                m.d.sync += self._unit.eq(0)
            with m.Elif(self._unit != self._unit_limit):
                m.d.sync += self._unit.eq(self._unit + 1)

    def _position(self, offset, *, l3):
        """``(unit, lane)`` of the byte at ``offset`` (from the start of the frame, or of the IP
        header behind a header of ``l3`` bytes)."""
        return divmod(offset + l3 + self._skew, self._lanes)

    def _at(self, offset, tagged):
        """The current unit holds the IP header byte ``offset`` (tagged or not): a condition,
        and that byte (from the lane of the tagged or the untagged position: they differ when
        the 4-byte tag is half a unit)."""
        plain, lane = self._position(offset, l3=_ETHERNET_HEADER)
        with_tag, tagged_lane = self._position(offset, l3=_ETHERNET_HEADER + _VLAN_TAG)
        byte = self._bytes[lane]
        if tagged_lane != lane:
            byte = Mux(tagged, self._bytes[tagged_lane], byte)
        return Mux(tagged, self._unit == with_tag, self._unit == plain), byte

    def _in_range(self, first, last, tagged, *, ahead=0):
        """The unit ``ahead`` units after the current one holds bytes ``first`` to ``last`` of
        the IP header (a condition)."""
        def between(l3):
            low, _ = self._position(first, l3=l3)
            high, _ = self._position(last, l3=l3)
            return (self._unit >= low - ahead) & (self._unit <= high - ahead)
        return Mux(tagged, between(_ETHERNET_HEADER + _VLAN_TAG), between(_ETHERNET_HEADER))

    def _place(self, m, target, first, condition_of):
        """Load the bytes of ``target`` (network order) from bytes ``first`` onwards, each when
        ``condition_of(offset)`` returns ``(condition, byte)`` for it (the byte of the current
        unit at that offset). Returns ``(incoming, complete)``: the value ``target`` holds from
        the next cycle, and whether this unit brings its last byte."""
        count = len(target) // 8
        incoming = []
        for index in range(count):
            condition, source = condition_of(first + index)
            byte = target.word_select(count - 1 - index, 8)
            with m.If(condition):
                m.d.sync += byte.eq(source)
            incoming.append(Mux(condition, source, byte))
        return Cat(*reversed(incoming)), condition

    # Fields.

    def _capture(self, m, beat, valid):
        """The header fields, and flags about them that every later stage reads as registers:

        - ``tagged``, ``ipv4``, ``ipv6``: set as the type fields come in (from the incoming
          bytes), so they are current even for a frame that ends with its type;
        - ``tcp``, ``udp``: the protocol (IPv4) or next header (IPv6), likewise;
        - ``l4``: the datagram has ports (TCP or UDP, not an IPv4 fragment), a cycle behind the
          fields it is made of. That never shows: the ports and the hash need it 10 bytes or
          more after the protocol, and a frame the result is taken from (an IP frame at least
          20 bytes into its IP header, or a frame whose protocol is still 0) has its protocol
          two beats or more before its end. With 8-byte units it would show (a frame may end in
          the unit after its protocol): the ports and the verdict's thresholds there read
          ``l4_now``, the same condition without the register.
        """
        def absolute(offset):
            unit, lane = self._position(offset, l3=0)
            return self._unit == unit, self._bytes[lane]

        ethertype = Signal(16)
        inner_type = Signal(16)
        tci = Signal(16)
        first_byte = Signal(8)
        ip_length = Signal(16)
        fragment = Signal(16)
        protocol = Signal(8)
        src = Signal(128)
        dst = Signal(128)
        ports = Signal(32)
        tagged, ipv4, ipv6, tcp, udp, l4 = (Signal(name=name) for name in
                                            ("tagged", "ipv4", "ipv6", "tcp", "udp", "l4"))

        def at(offset):
            return self._at(offset, tagged)

        def when(guard, condition_of):
            def guarded(offset):
                condition, byte = condition_of(offset)
                return guard & condition, byte
            return guarded

        def network_types(value):
            return [ipv4.eq(value == ETHERTYPE_IPV4), ipv6.eq(value == ETHERTYPE_IPV6)]

        with m.If(valid):
            with m.If(self._starts):
                # A new frame: fields and flags it may not have are 0.
                m.d.sync += [src.eq(0), dst.eq(0), ports.eq(0), tci.eq(0), protocol.eq(0),
                             tagged.eq(0), ipv4.eq(0), ipv6.eq(0), tcp.eq(0), udp.eq(0)]
            outer, complete = self._place(m, ethertype, 12, absolute)
            with m.If(complete):
                m.d.sync += [tagged.eq(outer == ETHERTYPE_VLAN), *network_types(outer)]
            self._place(m, tci, 14, when(tagged, absolute))
            inner, complete = self._place(m, inner_type, 16, when(tagged, absolute))
            with m.If(complete):
                m.d.sync += network_types(inner)
            # The type as it comes in: with 8-byte units, a tagged IPv4 header's length field
            # is in the unit of the inner type.
            ipv4_now = Mux(complete, inner == ETHERTYPE_IPV4, ipv4)
            self._place(m, first_byte, 0, at)
            self._place(m, ip_length, 2, when(ipv4_now, at))
            self._place(m, ip_length, 4, when(ipv6, at))
            self._place(m, fragment, 6, when(ipv4, at))
            for guard, offset in ((ipv4, 9), (ipv6, 6)):
                value, complete = self._place(m, protocol, offset, when(guard, at))
                with m.If(complete):
                    m.d.sync += [tcp.eq(value == PROTOCOL_TCP), udp.eq(value == PROTOCOL_UDP)]
            self._place(m, src[:32], 12, when(ipv4, at))
            self._place(m, dst[:32], 16, when(ipv4, at))
            self._place(m, src, 8, when(ipv6, at))
            self._place(m, dst, 24, when(ipv6, at))
        # ``l4_now``: from the protocol and fragment registers, a cycle before ``l4``.
        l4_now = (tcp | udp) & (ipv6 | (ipv4 & (fragment[:14] == 0)))
        m.d.sync += l4.eq(l4_now)

        addresses, in_ports, first_ports = Signal(), Signal(), Signal()
        if self._lanes > _PORTS:
            self._capture_half_units(m, beat, valid, addresses, ports, tagged, ipv4, ipv6,
                                     l4_now, first_byte)
        else:
            self._capture_whole_units(m, beat, valid, addresses, in_ports, first_ports, ports,
                                      tagged, ipv4, ipv6, l4, first_byte)

        return dict(ethertype=ethertype, tagged=tagged, tci=tci, ipv4=ipv4, ipv6=ipv6, l4=l4,
                    l4_now=l4_now,
                    tcp=tcp, udp=udp, first_byte=first_byte, ip_length=ip_length, src=src,
                    dst=dst, ports=ports, addresses=addresses, in_ports=in_ports,
                    first_ports=first_ports)

    def _capture_whole_units(self, m, beat, valid, addresses, in_ports, first_ports, ports,
                             tagged, ipv4, ipv6, l4, first_byte):
        """Units of 4 bytes or fewer: every address and port field is whole units; the ports
        come in unit by unit, and the hash is fed addresses and ports."""
        # Where the ports are: from the unit after ``before_ports`` (the end of the IP header)
        # to ``last_ports``; both follow the header fields, which come well before.
        before_ports = Signal.like(self._unit)
        last_ports = Signal.like(self._unit)
        plain_l3, _ = self._position(0, l3=_ETHERNET_HEADER)
        tagged_l3, _ = self._position(0, l3=_ETHERNET_HEADER + _VLAN_TAG)
        header_units = Mux(ipv6, _IPV6_HEADER // self._lanes,
                           first_byte[:4] * (4 // self._lanes))      # IHL * 4 bytes
        start = Mux(tagged, tagged_l3, plain_l3) + header_units
        m.d.sync += [before_ports.eq(start - 1),
                     last_ports.eq(start + _PORTS // self._lanes - 1)]

        # What the next unit is, decided a beat ahead (registers: they gate the Toeplitz hash,
        # whose 320-bit window they enable): an address unit, a ports unit, the first of those.
        with m.If(valid):
            m.d.sync += [
                addresses.eq(~beat.last & (
                    (ipv4 & self._in_range(12, 19, tagged, ahead=1))
                    | (ipv6 & self._in_range(8, 39, tagged, ahead=1)))),
                in_ports.eq(~beat.last & l4 & (self._unit >= before_ports)
                            & (self._unit < last_ports)),
                first_ports.eq(~beat.last & l4 & (self._unit == before_ports)),
            ]
        with m.If(valid & in_ports):
            m.d.sync += ports.eq(Cat(*reversed(self._bytes), ports)[:len(ports)])
        self._hash_data = Cat(*self._bytes)

    def _capture_half_units(self, m, beat, valid, addresses, ports, tagged, ipv4, ipv6, l4_now,
                            first_byte):
        """Units of 8 bytes: the 4-byte ports are one half of a unit (low or high, by the tag and
        the IHL), and the addresses start at a unit boundary or halfway into one. The hash is fed
        the addresses alone, realigned by 4 bytes when they start halfway (an IPv4 frame without
        a tag, a tagged IPv6 one); :meth:`_port_hash` adds the ports."""
        # Where the ports start, in units (bits 3 and up) and lanes (bit 2) of the frame.
        ports_start = Signal(8)
        l3 = Mux(tagged, _ETHERNET_HEADER + _VLAN_TAG, _ETHERNET_HEADER)
        m.d.sync += ports_start.eq(l3 + self._skew
                                   + Mux(ipv6, _IPV6_HEADER, Cat(C(0, 2), first_byte[:4])))
        low = Cat(*reversed(self._bytes[:_PORTS]))
        high = Cat(*reversed(self._bytes[_PORTS:]))
        # ``l4_now``: from the protocol register (a unit or more before the ports), not ``l4``,
        # a cycle later: a frame without options has its ports in the unit after its protocol.
        with m.If(valid & ~self._starts & l4_now & (self._unit == ports_start[3:])):
            m.d.sync += ports.eq(Mux(ports_start[2], high, low))

        held_high = Signal(8 * _PORTS)
        with m.If(valid):
            m.d.sync += held_high.eq(Cat(*self._bytes[_PORTS:]))
        halfway = Mux(tagged, ipv6, ipv4)
        self._hash_data = Mux(halfway, Cat(held_high, *self._bytes[:_PORTS]), Cat(*self._bytes))
        # A hashed unit ends in the unit that holds its last byte: from the addresses' fifth
        # byte (the end of the first, realigned or not) to their last.
        with m.If(valid):
            m.d.sync += addresses.eq(~beat.last & (
                (ipv4 & self._in_range(12 + _PORTS, 19, tagged, ahead=1))
                | (ipv6 & self._in_range(8 + _PORTS, 39, tagged, ahead=1))))

    def _port_hash(self, m, toeplitz, start, fields):
        """The ports' contribution to the hash (units of 8 bytes): the ports follow the
        addresses (8 bytes for IPv4, 32 for IPv6), so each port bit selects a fixed 32-bit window
        of the key, saved at the frame's first beat. Ports are 0 unless the datagram has them."""
        padded = Cat(C(0, 8 * (32 + _PORTS)), self.key)     # bits beyond the key's end are 0
        top = len(padded)
        windows = []
        for address_bytes in (8, 32):
            window = Signal(2 * HASH_WIDTH - 1, name=f"port_key_{address_bytes}")
            end = top - 8 * address_bytes
            with m.If(start):
                m.d.sync += window.eq(padded[end - len(window):end])
            windows.append(window)
        window = Mux(fields["ipv6"], windows[1], windows[0])
        # The ports as the first half of a unit (lane 0 their first byte), the other half 0.
        ports = fields["ports"]
        unit = Cat(*reversed([ports.word_select(index, 8) for index in range(_PORTS)]),
                   C(0, 8 * (self._lanes - _PORTS)))
        return toeplitz.contribution(Cat(C(0, HASH_WIDTH), window), unit)

    # Length and framing.

    def _measure(self, m, beat, valid):
        """The frame's length and framing error, registers loaded by its ``last`` beat."""
        saturated = (1 << LENGTH_WIDTH) - 1
        counted = Signal(LENGTH_WIDTH)    # bytes in the frame's earlier beats
        length = Signal(LENGTH_WIDTH)
        error = Signal()                  # framing error so far in the frame
        framing_error = Signal()

        if self._lanes == 1:
            final_bytes = C(1, 1)
        else:
            final_bytes = self._leading_ones(beat.keep)

        error_now = Mux(self._starts, ~beat.first, error | beat.first)
        total = counted + Mux(beat.last, final_bytes, self._lanes)
        clipped = Mux(total > saturated, saturated, total)
        with m.If(valid):
            m.d.sync += error.eq(error_now)
            with m.If(beat.last):
                m.d.sync += [
                    counted.eq(0),
                    length.eq(clipped),
                    framing_error.eq(error_now),
                ]
            with m.Else():
                m.d.sync += counted.eq(clipped)
        return length, framing_error

    def _leading_ones(self, keep):
        """Set bits of ``keep`` counted from lane 0 up to the first clear one."""
        count = C(len(keep), range(len(keep) + 1))
        for lane in reversed(range(len(keep))):
            count = Mux(keep[lane], count, lane)
        return count

    # The verdict.

    def _judge(self, m, result, fields, length, framing_error):
        tagged = fields["tagged"]
        ipv6 = fields["ipv6"]
        version = fields["first_byte"][4:]
        ihl = fields["first_byte"][:4]
        header = Cat(C(0, 2), ihl)                              # IHL * 4
        # ``l4_now``, as the thresholds below are registers: with 8-byte units a frame may end
        # in the unit after its protocol, and ``l4`` would reach them a cycle too late. It is
        # late (the protocol and fragment fields, then their checks): it only picks between
        # thresholds computed without it.
        l4_now = fields["l4_now"]
        ip_length = fields["ip_length"]

        def shorter_than(size):
            """The frame is shorter than ``size`` bytes of IP header (behind the tag or not)."""
            return Mux(tagged, length < _ETHERNET_HEADER + _VLAN_TAG + size,
                       length < _ETHERNET_HEADER + size)

        # Thresholds that take adders, from the header fields, registered: they trail the fields
        # by a cycle, which never shows, as the checks that read them are reached only by a frame
        # at least 20 bytes into its IP header, whose fields came in two beats or more before its
        # last one.
        l3 = Mux(tagged, _ETHERNET_HEADER + _VLAN_TAG, _ETHERNET_HEADER)
        header_end = Signal(8)       # where the IP header (and the ports) end
        ip_end = Signal(LENGTH_WIDTH + 1)     # where the IP length field says the datagram ends
        ip_short = Signal()          # the IP length leaves no room for the header (and ports)
        # The Ethernet header, the tag and the ports: a constant that ``tagged`` and ``l4_now``
        # pick.
        l3_ports = Mux(tagged, Mux(l4_now, _ETHERNET_HEADER + _VLAN_TAG + _PORTS,
                                   _ETHERNET_HEADER + _VLAN_TAG),
                       Mux(l4_now, _ETHERNET_HEADER + _PORTS, _ETHERNET_HEADER))
        # In 4-byte words, without an adder: ``ip_length < IHL * 4 (+ 4)`` is
        # ``ip_length // 4 < IHL (+ 1)``, and ``ip_length < 0 (+ 4)`` is ``ip_length // 4 == 0``.
        words = ip_length[2:]
        short_of_header = Mux(ipv6, 0, words < ihl)
        short_of_ports = Mux(ipv6, words == 0, words <= ihl)
        m.d.sync += [
            header_end.eq(l3_ports + Mux(ipv6, _IPV6_HEADER, header)),
            ip_end.eq(l3 + Mux(ipv6, _IPV6_HEADER, 0) + ip_length),
            ip_short.eq(Mux(l4_now, short_of_ports, short_of_header)),
        ]
        truncated = length < header_end
        malformed = (ip_end > length) | ip_short

        verdict = result.verdict
        with m.If(framing_error):
            m.d.comb += verdict.eq(Verdict.MALFORMED)
        with m.Elif((length < _ETHERNET_HEADER) | (tagged & (length < l3))):
            m.d.comb += verdict.eq(Verdict.TRUNCATED)
        with m.Elif(fields["ipv4"]):
            with m.If(shorter_than(_IPV4_HEADER)):
                m.d.comb += verdict.eq(Verdict.TRUNCATED)
            with m.Elif((version != 4) | (ihl < 5)):
                m.d.comb += verdict.eq(Verdict.MALFORMED)
            with m.Elif(truncated):
                m.d.comb += verdict.eq(Verdict.TRUNCATED)
            with m.Elif(malformed):
                m.d.comb += verdict.eq(Verdict.MALFORMED)
            with m.Else():
                m.d.comb += verdict.eq(Verdict.OK)
        with m.Elif(ipv6):
            with m.If(shorter_than(_IPV6_HEADER)):
                m.d.comb += verdict.eq(Verdict.TRUNCATED)
            with m.Elif(version != 6):
                m.d.comb += verdict.eq(Verdict.MALFORMED)
            with m.Elif(truncated):
                m.d.comb += verdict.eq(Verdict.TRUNCATED)
            with m.Elif(malformed):
                m.d.comb += verdict.eq(Verdict.MALFORMED)
            with m.Else():
                m.d.comb += verdict.eq(Verdict.OK)
        with m.Else():
            m.d.comb += verdict.eq(Verdict.OK)
