"""Tests of autoplay_cli.stream (a package, so test basenames may repeat tests/cli/)."""
