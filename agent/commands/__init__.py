"""Subcommands of ``danmaku-agent``; each module has HELP, add_arguments() and run()."""
