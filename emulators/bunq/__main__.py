"""Run the bunq emulator in the foreground: `python -m emulators.bunq --seed FILE`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from emulators.bunq.server import BunqEmulator
from emulators.bunq.state import SeedError

logger = logging.getLogger("emulators.bunq")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.bunq",
        description="Serve a local emulator of the bunq API for bunq-sdk 1.28.0.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8701, help="TCP port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--seed",
        required=True,
        help="JSON seed file with the bunq user, accounts and payments under the key 'bunq'",
    )
    parser.add_argument(
        "--log-level", default="INFO", help="logging level, for example INFO or WARNING"
    )

    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    try:
        emulator = BunqEmulator(args.seed)
    except SeedError as error:
        logger.error("invalid seed %s: %s", args.seed, error)
        return 2

    emulator.start(args.host, args.port)
    # SIGTERM (from a process supervisor) stops the server as cleanly as Ctrl+C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: emulator.stop())
    accounts = len(emulator.state.accounts())
    logger.info(
        "bunq emulator for user %s with %d accounts listening on %s (stop with Ctrl+C)",
        emulator.user_id,
        accounts,
        emulator.base_url,
    )

    try:
        emulator.wait()
    except KeyboardInterrupt:
        logger.info("stopping the bunq emulator")
    finally:
        emulator.stop()

    return 0


if __name__ == "__main__":
    sys.exit(main())
