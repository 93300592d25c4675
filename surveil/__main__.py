import sys

from surveil.cli import main

sys.exit(main())
