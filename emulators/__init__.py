"""Local HTTP emulators of the external APIs this product talks to, for tests and demos."""
