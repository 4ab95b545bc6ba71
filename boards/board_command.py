"""``slique board``: talk to a board top over its UART bridge (pyserial).

``slique board --port /dev/ttyUSB1 ping`` reads the bridge's identification;
``read ADDR [COUNT]`` and ``write ADDR VALUE...`` access words (bridge word addresses: bank
``b``, byte offset ``o`` is ``b * 0x1000 + o // 4``); ``run`` drives the iCEBreaker flow top
(admission settings, the seeded generator, a drain period) and prints each queue's counters
and the trace records; ``counters`` prints (and clears) the counters. ``--json`` prints JSON.
"""

import json
import sys
import time

from slique.hdl.uart_bridge import BRIDGE_ID, BRIDGE_REGISTERS

from .bridge import DEFAULT_BAUDRATE, BridgeClient, BridgeError, SerialTransport


__all__ = ["add_arguments", "run", "open_client"]


def _number(text):
    return int(text, 0)


def add_arguments(parser):
    parser.add_argument("--port", required=True,
                        help="serial port of the board's UART (/dev/ttyUSB1 for the iCEBreaker)")
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUDRATE,
                        help=f"baud rate (default {DEFAULT_BAUDRATE})")
    parser.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("ping", help="read the bridge's identification")
    read = actions.add_parser("read", help="read words")
    read.add_argument("address", type=_number)
    read.add_argument("count", type=_number, nargs="?", default=1)
    write = actions.add_parser("write", help="write words")
    write.add_argument("address", type=_number)
    write.add_argument("values", type=_number, nargs="+")
    flow = actions.add_parser("run", help="run the flow top's generator and report")
    flow.add_argument("--seed", type=_number, default=1)
    flow.add_argument("--packets", type=int, default=1000)
    flow.add_argument("--min-length", type=int, default=64)
    flow.add_argument("--length-mask", type=int, default=63)
    flow.add_argument("--gap", type=int, default=0)
    flow.add_argument("--burst", type=int, default=0)
    flow.add_argument("--burst-gap", type=int, default=0)
    flow.add_argument("--drain", type=int, default=2,
                      help="a beat leaves every queue once every DRAIN cycles (default 2)")
    flow.add_argument("--steady", type=int, default=8, help="S of every queue (beats)")
    flow.add_argument("--burst-depth", type=int, default=16, help="B of every queue (beats)")
    flow.add_argument("--capacity", type=int, default=4, help="C of every queue (tokens)")
    flow.add_argument("--rate", type=float, default=0.05, help="r of every queue (tokens/cycle)")
    actions.add_parser("counters", help="read (and clear) the counters of the flow top")


def open_client(args):
    """A :class:`BridgeClient` on ``args.port`` (a seam for tests)."""
    return BridgeClient(SerialTransport(args.port, args.baud))


def run(args):
    try:
        client = open_client(args)
        document = _ACTIONS[args.action](client, args)
    except BridgeError as error:
        print(f"slique board: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(document, indent=1))
    else:
        _print(document)
    return 0


def _ping(client, args):
    identification = client.read_word(BRIDGE_REGISTERS["BRIDGE_ID"].offset // 4)
    return {"bridge_id": identification, "ok": identification == BRIDGE_ID}


def _read(client, args):
    return {"address": args.address, "words": client.read(args.address, args.count)}


def _write(client, args):
    client.write(args.address, args.values)
    return {"address": args.address, "written": len(args.values)}


def _flow_client(client):
    from .flow_client import FlowBoardClient
    return FlowBoardClient(client, queues=2)


def _counters(client, args):
    board = _flow_client(client)
    frames, stray = board.bridge_counters()
    return {
        "sent": board.sent(),
        "queues": [board.admission_counters(queue) for queue in range(board.queues)],
        "trace": board.trace_status(),
        "bridge": {"frames": {s.name: n for s, n in frames.items()},
                   "stray": {r.name: n for r, n in stray.items()}},
    }


def _run_flow(client, args):
    board = _flow_client(client)
    for queue in range(board.queues):
        board.configure_admission(queue, steady=args.steady, burst=args.burst_depth,
                                  capacity=args.capacity, rate=args.rate)
        board.admission_counters(queue)  # clear
    board.drain_every(args.drain)
    before = board.sent()
    board.start_generator(seed=args.seed, count=args.packets, min_length=args.min_length,
                          length_mask=args.length_mask, gap=args.gap, burst=args.burst,
                          burst_gap=args.burst_gap)
    deadline = time.monotonic() + 30
    while board.sent() - before < args.packets and time.monotonic() < deadline:
        time.sleep(0.05)
    board.stop_generator()
    time.sleep(0.05)
    records = board.trace_records()
    document = _counters(client, args)
    document["trace_records"] = [
        {"cycle": r.cycle, "block": r.block.name, "reason": r.reason.name, "queue": r.queue,
         "tag": r.tag} for r in records]
    return document


_ACTIONS = {"ping": _ping, "read": _read, "write": _write, "run": _run_flow,
            "counters": _counters}


def _print(document):
    for key, value in document.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{key}:")
            for item in value:
                print(f"  {item}")
        elif isinstance(value, list):
            print(f"{key}: " + " ".join(f"{word:#010x}" for word in value))
        else:
            print(f"{key}: {value}")
