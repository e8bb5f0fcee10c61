"""`python -m itslab` runs the command-line interface."""

from itslab.cli import main

raise SystemExit(main())
