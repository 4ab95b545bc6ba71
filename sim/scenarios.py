"""Named traffic scenarios for the flow pipeline (``slique simulate --scenario NAME``).

Each scenario is a seeded packet generator (frames built by :mod:`slique.sim.packets`, or by
scapy where a field it lacks matters: TCP sequence numbers) with the idle cycles before each
frame, plus what it runs under: the admission's ``S``, ``B``, ``C``, ``r``, the demux's settings and
table writes, and each queue's consumer. :func:`scenario_traffic` turns one into the
:class:`~slique.sim.flow_pipeline.PipelineTraffic` that the golden model and the cocotb bench
both run, so that a scenario is the same stimulus on every backend.

The names are part of the command's interface: ``steady``, ``burst``, ``incast``, ``reorder``,
``rss-skew``, ``malformed``. Frames may come from a pcap file instead (:func:`read_pcap`); the
scenario then gives their timing and the configuration.
"""

import random
from dataclasses import dataclass, field

from .burst_admission import ConfigSchedule
from .flow_demux import MRQC_ALL
from .packet import frame_beats
from .packets import Flow, FrameMix, random_flow
from .toeplitz import MICROSOFT_KEY


__all__ = ["Scenario", "SCENARIOS", "SCENARIO_PIPELINE", "scenario_traffic", "scenario_frames",
           "read_pcap", "write_pcaps", "PcapError", "sequence_report", "ADMISSION_DEFAULTS"]


#: The pipeline every scenario runs on (one simulator build serves them all): 32-bit beats,
#: four queues of 256 beats (1 KiB) behind the admission, demux queues and input buffer of
#: 1536 bytes (a full-size frame fits), an 8-entry flow table, a 16-record trace slique.
SCENARIO_PIPELINE = dict(data_width=32, queues=4, queue_depth=256, demux_depth=384,
                         flow_entries=8, buffer_depth=384, trace_depth=16)

#: Admission settings unless a scenario says otherwise: ``S = 32`` and ``B = 224`` beats, a
#: bucket of 4 packets refilled at 1/256 packet per cycle (exact: ``D = 256``).
ADMISSION_DEFAULTS = dict(steady_depth=32, burst_depth=224, bucket_capacity=4, refill_rate=1,
                          refill_denominator=256)

#: The demux's settings unless a scenario says otherwise: the Microsoft key, every RSS hash type.
DEMUX_DEFAULTS = dict(key=int.from_bytes(MICROSOFT_KEY, "big"), mrqc=MRQC_ALL, default_queue=0,
                      strict=0)


class PcapError(ValueError):
    """A pcap file that cannot be read (the message names it and says why)."""


@dataclass(frozen=True)
class Scenario:
    """A named scenario.

    Attributes
    ----------
    name, help : str
        Its name and its one line of ``--help``.
    generate : callable
        ``generate(rng, count) -> [(idle cycles before, frame bytes), ...]``.
    consumers : tuple of float
        Duty cycle of each queue's consumer (cycled over the queues).
    admission, settings : dict
        Admission configuration and demux settings over the defaults.
    writes : callable or None
        ``writes(queues) -> [inputs, ...]``: table writes (RETA, flow table) before the first frame.
    """
    name: str
    help: str
    generate: object
    consumers: tuple = (0.9,)
    admission: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    writes: object = None


def _ip_flows(rng, count):
    """``count`` random TCP / UDP flows (ports hashed by RSS)."""
    flows = []
    while len(flows) < count:
        flow = random_flow(rng)
        if flow.transport in ("tcp", "udp"):
            flows.append(flow)
    return flows


def _payload(rng, low=16, high=200):
    return rng.randbytes(rng.randint(low, high))


def _steady(rng, count):
    flows = _ip_flows(rng, 16)
    return [(rng.randint(20, 60), rng.choice(flows).frame(_payload(rng))) for _ in range(count)]


def _burst(rng, count):
    flows = _ip_flows(rng, 16)
    packets = []
    while len(packets) < count:
        size = rng.randint(24, 40)
        for index in range(min(size, count - len(packets))):
            gap = rng.randint(800, 1500) if index == 0 and packets else 0
            packets.append((gap, rng.choice(flows).frame(_payload(rng))))
    return packets


def _incast(rng, count):
    server = bytes([10, 0, 0, 1])
    senders = [Flow(4, "tcp", bytes([10, 1, rng.randrange(256), rng.randrange(1, 255)]),
                    server, rng.randrange(1024, 65536), 80) for _ in range(32)]
    return [(rng.randint(0, 4), rng.choice(senders).frame(_payload(rng, 40, 120)))
            for _ in range(count)]


def _incast_writes(queues):
    """Every RETA entry to queue 0: the receiver's queue."""
    return [dict(reta_write=1, reta_index=index, reta_value=0) for index in range(128)]


def _tcp_frame(flow, sequence, payload):
    """An IPv4 / TCP frame with a sequence number (scapy)."""
    import ipaddress

    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    return bytes(Ether(dst="02:00:5e:10:00:01", src="02:00:5e:10:00:02")
                 / IP(src=str(ipaddress.ip_address(flow.src)),
                      dst=str(ipaddress.ip_address(flow.dst)))
                 / TCP(sport=flow.src_port, dport=flow.dst_port, seq=sequence, flags="A")
                 / payload)


def _reorder(rng, count):
    flows = [Flow(4, "tcp", rng.randbytes(4), rng.randbytes(4), rng.randrange(1024, 65536),
                  rng.choice([80, 443, 5201])) for _ in range(4)]
    sequences = [rng.getrandbits(32) for _ in flows]
    packets = []
    while len(packets) < count:
        index = rng.randrange(len(flows))
        window = []
        for _ in range(6):
            payload = _payload(rng, 16, 120)
            window.append((flows[index], sequences[index], payload))
            sequences[index] = (sequences[index] + len(payload)) & 0xFFFFFFFF
        rng.shuffle(window)
        if rng.random() < 0.3:
            window.insert(rng.randrange(len(window) + 1), rng.choice(window))  # a duplicate
        packets += [(rng.randint(10, 40), _tcp_frame(*segment)) for segment in window]
    return packets[:count]


def _rss_skew(rng, count):
    elephant, *mice = _ip_flows(rng, 16)
    return [(rng.randint(0, 2), (elephant if rng.random() < 0.8 else rng.choice(mice))
             .frame(_payload(rng))) for _ in range(count)]


#: Frame kinds of the malformed scenario: half of the frames are bad in one way or another.
MALFORMED_KINDS = {"good": 10, "not-ip": 1, "truncated": 3, "runt": 2, "bad-ihl": 2,
                   "bad-version": 2, "long-ip-length": 2, "short-ip-length": 2}


def _malformed(rng, count):
    mix = FrameMix(rng, flows=12, max_payload=120, kinds=MALFORMED_KINDS)
    return [(rng.randint(5, 30), mix.frame()) for _ in range(count)]


#: The scenarios, by name.
SCENARIOS = {scenario.name: scenario for scenario in [
    Scenario("steady", "16 TCP/UDP flows at about half the line rate, fast consumers: "
                       "everything delivered", _steady),
    Scenario("burst", "bursts of 24-40 back-to-back frames, then long pauses, slow consumers: "
                      "the bucket's tokens are spent, then BURST_EXHAUSTED and HARD_LIMIT",
             _burst, consumers=(0.1,),
             admission=dict(steady_depth=16, burst_depth=192, bucket_capacity=3,
                            refill_denominator=1024)),
    Scenario("incast", "32 senders to one server port, every RETA entry on queue 0, whose "
                       "consumer takes half the cycles: admission drops on queue 0",
             _incast, consumers=(0.5, 1.0, 1.0, 1.0), writes=_incast_writes),
    Scenario("reorder", "4 TCP flows whose segments arrive shuffled in windows of 6, with "
                        "duplicates; delivered in arrival order (counted out of order)",
             _reorder),
    Scenario("rss-skew", "one elephant flow with 80% of the frames and 15 mice, back to back: "
                         "the elephant's queue overflows while the others idle",
             _rss_skew, consumers=(0.3,)),
    Scenario("malformed", "half the frames truncated, runts, bad IHL, bad version or bad IP "
                          "length: counted and dropped by the demux, never steered",
             _malformed),
]}


def _scenario(name):
    if name not in SCENARIOS:
        raise ValueError(f"Unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    return SCENARIOS[name]


def read_pcap(path):
    """The frames (bytes) of a pcap file; :class:`PcapError` if it cannot be read."""
    from scapy.error import Scapy_Exception
    import scapy.layers.l2  # noqa: F401 (so that rdpcap reads Ethernet frames as Ether)
    from scapy.utils import rdpcap

    try:
        frames = [bytes(packet) for packet in rdpcap(str(path))]
    except FileNotFoundError:
        raise PcapError(f"{path}: no such pcap file") from None
    except (Scapy_Exception, OSError, ValueError, EOFError) as error:
        raise PcapError(f"{path} is not a readable pcap file ({error})") from None
    frames = [frame for frame in frames if frame]
    if not frames:
        raise PcapError(f"{path} holds no frames")
    return frames


def write_pcaps(frames, directory):
    """Write one pcap per queue (``queue<N>.pcap``, Ethernet link type) into ``directory``;
    ``frames`` is a list (per queue) of frames as bytes. Returns the paths."""
    from pathlib import Path

    from scapy.utils import PcapWriter

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for queue, queue_frames in enumerate(frames):
        path = directory / f"queue{queue}.pcap"
        writer = PcapWriter(str(path), linktype=1, sync=False)
        for frame in queue_frames:
            writer.write(frame)
        writer.close()
        paths.append(path)
    return paths


def scenario_frames(name, *, seed, packets, pcap=None):
    """``[(idle cycles before, frame), ...]`` of a scenario: its own frames, or those of
    ``pcap`` with the scenario's timing."""
    scenario = _scenario(name)
    rng = random.Random(seed)
    if pcap is None:
        return scenario.generate(rng, packets)
    frames = read_pcap(pcap)
    if packets:
        frames = frames[:packets]
    timing = scenario.generate(rng, len(frames))
    return [(gap, frame) for (gap, _), frame in zip(timing, frames)]


def scenario_traffic(name, model, *, seed, packets, pcap=None):
    """The :class:`~slique.sim.flow_pipeline.PipelineTraffic` of a scenario for ``model`` (a
    golden :class:`~slique.sim.flow_pipeline.FlowPipeline`, whose parameters it takes)."""
    from .flow_pipeline import PipelineTraffic

    scenario = _scenario(name)
    parameters = model.parameters
    script = []
    for gap, frame in scenario_frames(name, seed=seed, packets=packets, pcap=pcap):
        script += [[]] * gap
        script.append(frame_beats(frame, parameters.data_width))
    queues = parameters.queues
    duties = [scenario.consumers[queue % len(scenario.consumers)] for queue in range(queues)]
    return PipelineTraffic(
        seed ^ 0x5CE7A, schedule=ConfigSchedule({**ADMISSION_DEFAULTS, **scenario.admission}),
        consumers=[dict(duty=duty) for duty in duties], trace_duty=1.0,
        data_width=parameters.data_width, queues=queues,
        flow_entries=parameters.flow_entries, buffer_depth=parameters.buffer_depth,
        changes=False, packets=script, settings={**DEMUX_DEFAULTS, **scenario.settings},
        writes=scenario.writes(queues) if scenario.writes else [])


def sequence_report(frames):
    """Per queue, TCP segments delivered out of order and duplicated, per flow by sequence
    number (RFC 1982 comparison): ``[{"out_of_order": n, "duplicates": n}, ...]``."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    report = []
    for queue_frames in frames:
        highest, seen, late, duplicates = {}, set(), 0, 0
        for frame in queue_frames:
            packet = Ether(frame)
            if TCP not in packet or IP not in packet:
                continue
            flow = (packet[IP].src, packet[IP].dst, packet[TCP].sport, packet[TCP].dport)
            sequence = packet[TCP].seq
            if (flow, sequence) in seen:
                duplicates += 1
                continue
            seen.add((flow, sequence))
            if flow in highest and (highest[flow] - sequence) % (1 << 32) < (1 << 31):
                late += 1
            else:
                highest[flow] = sequence
        report.append({"out_of_order": late, "duplicates": duplicates})
    return report
