"""``python -m gpt2lab ...``: the same as the ``gpt2lab`` command (see :mod:`gpt2lab.apps.cli`)."""

import sys

from gpt2lab.apps.cli import main

sys.exit(main())
