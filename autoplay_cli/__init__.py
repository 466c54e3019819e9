"""autoplay: the command-line toolkit and library for the Autoplay activity platform."""

__version__ = "0.1.0"
