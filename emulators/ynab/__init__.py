"""A local HTTP emulator of the YNAB API v1 that the official ``ynab`` SDK works against.

Point the SDK at it with ``ynab.Configuration(host=emulator.base_url, access_token=TOKEN)``.
"""

from emulators.ynab.faults import Fault, Faults
from emulators.ynab.server import YnabEmulator

__all__ = ["Fault", "Faults", "YnabEmulator"]
