"""Tests of autoplay_cli.skillpack (a package, so module names do not clash across folders)."""
