"""``python -m symconv``."""

import sys

from .cli import main

sys.exit(main())
