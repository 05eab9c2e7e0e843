"""Luisterpost: social listening for Dutch municipalities (wiring, settings and CLI)."""

__version__ = "0.1.0"
