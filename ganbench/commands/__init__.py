"""One module per ``ganbench`` subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""

COMMANDS = ("train", "grid", "eval", "leaderboard", "datasets", "weights")
