"""``python -m assignments``: the student version and grader bundle of every chapter (``make student``)."""

import sys

from assignments.student import main

sys.exit(main())
