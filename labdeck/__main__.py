"""`python -m labdeck`: the same command line as `labdeck`."""
import sys

from labdeck.cli import main

sys.exit(main())
