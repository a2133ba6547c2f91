"""Run the YNAB emulator in the foreground: ``python -m emulators.ynab --seed FILE``."""

from __future__ import annotations

import argparse
import logging
import signal
from datetime import date

from emulators.ynab.server import YnabEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.ynab",
        description="Serve an emulated YNAB API v1 at http://HOST:PORT/v1 until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8702, help="port to listen on (0: any free)")
    parser.add_argument(
        "--seed", required=True, help='seed JSON file, of which the emulator reads the "ynab" key'
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        help="date (YYYY-MM-DD) to check transaction dates against (default: the local date)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    emulator = YnabEmulator(args.seed, today=args.today)
    # Stop as cleanly on SIGTERM (a process manager) as on Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        emulator.serve_forever(args.host, args.port)
    except KeyboardInterrupt:
        logging.getLogger("emulators.ynab").info("YNAB emulator stopped")


if __name__ == "__main__":
    main()
