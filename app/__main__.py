"""`python -m app`: the command line (the window arrives with the GUI issue)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
