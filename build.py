#!/usr/bin/env python3
"""labdeck's entry point: `python build.py --help`."""

from labdeck.cli import entry

if __name__ == "__main__":
    entry()
