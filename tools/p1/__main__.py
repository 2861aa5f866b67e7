import sys

from tools.p1 import main

sys.exit(main())
