"""``runrobot`` entry point: parses arguments and dispatches to ``runrobot.commands``."""

from __future__ import annotations

import argparse
import logging
import sys

from runrobot.commands import demo, feed, g1, launch, policy, serve, sim, token


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runrobot", description="Real-time robot policy runtime with a ROS 2 bridge")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(sub)
    demo.add_parser(sub)
    policy.add_parser(sub)
    feed.add_parser(sub)
    sim.add_parser(sub)
    token.add_parser(sub)
    launch.add_parser(sub)
    g1.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileNotFoundError) as exc:
        print(f"runrobot: error: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as exc:
        print(f"runrobot: failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
