"""`python -m labdeck`: the same command line as `labdeck`."""

from labdeck.cli import entry

entry()
