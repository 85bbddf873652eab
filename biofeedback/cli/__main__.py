import sys

from biofeedback.cli.main import main

sys.exit(main())
