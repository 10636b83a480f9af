"""The bundle's entry script: the same ``main`` as the ``sre-console`` console script."""

import sys

from console.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
