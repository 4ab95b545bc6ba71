"""``slique cache``: the simulator build cache, its size and bound; ``--clear`` or ``--max-gb``.

The cache (``$SLIQUE_CACHE_DIR/build``, default ``~/.cache/slique/build``) keeps one build per
(design, simulator); after each new build it is evicted, least recently used first, down to
``$SLIQUE_BUILD_CACHE_GB`` gigabytes (default 8). See :mod:`slique.sim.build_cache`.
"""

import json

from slique.sim import build_cache
from slique.sim.runner import cache_dir


__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--clear", action="store_true",
                        help="remove every build that no run or build is using")
    parser.add_argument("--max-gb", type=float, metavar="GB",
                        help="remove the least recently used builds (not in use) until the "
                             "cache holds at most GB gigabytes (10^9 bytes)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document: path, builds, bytes, bound, removed")


def run(args):
    root = cache_dir() / "build"
    try:
        limit = build_cache.limit_bytes()
    except ValueError as error:
        raise SystemExit(f"slique cache: {error}") from None
    if args.max_gb is not None and not args.max_gb >= 0:
        raise SystemExit(f"slique cache: --max-gb must be >= 0, not {args.max_gb}")
    if args.clear or args.max_gb is not None:
        removed, kept = build_cache.evict(root, 0 if args.clear else args.max_gb * 1e9)
    else:
        removed, kept = [], build_cache.entries(root)
    total = sum(entry.bytes for entry in kept)
    document = {
        "path": str(root), "builds": len(kept), "bytes": total,
        "limit_bytes": limit if limit != float("inf") else None,
        "removed_builds": len(removed), "removed_bytes": sum(entry.bytes for entry in removed),
        "entries": [{"name": entry.name, "bytes": entry.bytes, "last_used": entry.last_used}
                    for entry in kept],
    }
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    bound = "no bound" if limit == float("inf") else f"bound {limit / 1e9:g} GB"
    print(f"{root}: {len(kept)} builds, {total / 1e9:.2f} GB "
          f"({bound}, ${build_cache.LIMIT_ENV})")
    if args.clear or args.max_gb is not None:
        print(f"removed {len(removed)} builds, {document['removed_bytes'] / 1e9:.2f} GB"
              + (f"; {len(kept)} in use stay" if args.clear and kept else ""))
    return 0
