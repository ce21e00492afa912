"""The package version, on the ground floor so that any layer can record it without importing
the package root (whose lazy exports reach up to :mod:`framepick.api`)."""

__version__ = "0.1.0"
