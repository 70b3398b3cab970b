#!/usr/bin/env python3
"""labdeck's entry point: `python build.py --help`."""
import sys

from labdeck.cli import main

if __name__ == "__main__":
    sys.exit(main())
