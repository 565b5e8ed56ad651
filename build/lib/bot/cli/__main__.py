"""`python -m bot.cli`: the `teleopd` command where its console script is not installed."""

from bot.cli.main import main

raise SystemExit(main())
