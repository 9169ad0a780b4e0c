import sys

from copywatch.cli import main

sys.exit(main())
