"""An emulator of the bunq API that bunq-sdk 1.28.0 works against unmodified.

Start it with `BunqEmulator(seed).start()`, or run `python -m emulators.bunq --seed FILE`;
docs/emulators.md describes the seed format, the control endpoints and the fault switches.
"""

from emulators.bunq.server import BunqEmulator
from emulators.bunq.state import SeedError

__all__ = ["BunqEmulator", "SeedError"]
