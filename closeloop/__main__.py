import sys

from closeloop.cli import main

sys.exit(main())
