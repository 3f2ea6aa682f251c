"""``python -m gpt2lab "prompt"``: the essay generator on the command line (see :mod:`gpt2lab.apps.cli`)."""

import sys

from gpt2lab.apps.cli import main

sys.exit(main())
