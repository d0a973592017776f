"""python -m grader.cli: the jaxjudge command."""

import sys

from grader.cli.main import main

sys.exit(main())
