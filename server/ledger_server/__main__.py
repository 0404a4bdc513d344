import sys

from ledger_server.cli import main

sys.exit(main())
