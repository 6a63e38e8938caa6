"""``python -m bci_bridge`` is ``bci-bridge``."""

from bci_bridge.cli.main import main

raise SystemExit(main())
