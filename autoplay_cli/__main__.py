"""Entry point for ``python -m autoplay_cli``."""

from autoplay_cli.cli.app import main

if __name__ == "__main__":
    main()
