"""Every register that misses a clock period in one placement, from nextpnr's detailed timing report.

nextpnr's log and report name only the worst path of each clock, so fixing paths one placement
at a time shows one register per run. With ``--detailed-timing-report`` (which
:func:`~slique.bench.synth.synthesize` always passes) the JSON report also gives, for every net,
the arrival time at each of its timing endpoints: a flip-flop's data, enable or set/reset
input, a RAM's write port. :func:`slow_endpoints` groups those endpoints by the register or
memory they belong to (the bit indices and the cell suffixes Yosys and nextpnr add are
stripped), worst first, so that one run lists every register later than the period.

The report gives no path, only its end and its arrival; the path's start is in the netlist
(``yosys`` ``show`` or a cone walk on the JSON netlist) or, for the worst one, in the log.

Run it on a report a synthesis left in its work directory::

    python -m slique.bench.timing_paths top.seed1.heap.report.json --period 8 [--top 30] [--json]
"""

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


__all__ = ["EndpointGroup", "endpoint_group", "slow_endpoints", "main"]

# what nextpnr and Yosys append to a register's or memory's name when they split it into cells
_CELL_SUFFIX = re.compile(r"(_TRELLIS_|_LUT4_|_PFUMX_|_L6MUX21_|_CCU2C_|_DP16KD|_SB_|\$).*")
_RAM_SLICE = re.compile(r"(storage)\.\d+\.\d+(?=\$)")
_BIT = re.compile(r"\[\d+\]$")


@dataclass(frozen=True)
class EndpointGroup:
    """The endpoints of one register or memory (one kind of input) later than the period.

    Attributes
    ----------
    name : str
        The register or memory, as the design names it (``dut.tx0.head``).
    port : str
        The kind of input, its port name without the bit index (``DI``, ``CE``, ``LSR``,
        ``M``, ``WRE``, ``WEA``...).
    worst_ns : float
        The latest arrival among them.
    count : int
        Endpoints of the group later than the period.
    net : str
        The net with the latest arrival (its name often names the logic before it).
    """
    name: str
    port: str
    worst_ns: float
    count: int
    net: str


def endpoint_group(cell, port):
    """``(name, port kind)`` of an endpoint: its cell's register or memory, its port class."""
    name = _CELL_SUFFIX.sub("", _RAM_SLICE.sub(r"\1", cell))
    return _BIT.sub("", name), re.sub(r"\d+$", "", port)


def slow_endpoints(report, period_ns):
    """The endpoint groups of a detailed nextpnr report (a dict) that arrive after
    ``period_ns``, worst first. Raises ``ValueError`` if the report has no detailed timing."""
    if "detailed_net_timings" not in report:
        raise ValueError("the report has no detailed_net_timings: run nextpnr with "
                         "--detailed-timing-report (slique.bench.synth does)")
    groups = {}
    for net in report["detailed_net_timings"]:
        for endpoint in net.get("endpoints", []):
            arrival = max(endpoint["delay"]) if isinstance(endpoint["delay"], list) \
                else endpoint["delay"]
            if arrival <= period_ns:
                continue
            key = endpoint_group(endpoint["cell"], endpoint["port"])
            worst, count, worst_net = groups.get(key, (0.0, 0, ""))
            if arrival > worst:
                worst, worst_net = arrival, net["net"]
            groups[key] = (worst, count + 1, worst_net)
    return sorted((EndpointGroup(name, port, round(worst, 3), count, net)
                   for (name, port), (worst, count, net) in groups.items()),
                  key=lambda group: (-group.worst_ns, group.name, group.port))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m slique.bench.timing_paths",
        description="registers later than a clock period, from a nextpnr --report written "
                    "with --detailed-timing-report")
    parser.add_argument("report", type=Path)
    parser.add_argument("--period", type=float, default=8.0,
                        help="clock period in ns (default: 8.0, 125 MHz)")
    parser.add_argument("--top", type=int, default=40, help="groups to print (default: 40)")
    parser.add_argument("--json", action="store_true",
                        help='print {"period_ns", "endpoints", "groups": [...]}')
    args = parser.parse_args(argv)
    try:
        groups = slow_endpoints(json.loads(args.report.read_text()), args.period)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"period_ns": args.period,
                          "endpoints": sum(group.count for group in groups),
                          "groups": [asdict(group) for group in groups[:args.top]]}, indent=1))
        return 0
    print(f"{sum(group.count for group in groups)} endpoints later than {args.period} ns "
          f"in {len(groups)} registers / memories")
    for group in groups[:args.top]:
        print(f"{group.worst_ns:7.2f} ns {group.count:5d}  {group.name}.{group.port}  "
              f"({group.net})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
