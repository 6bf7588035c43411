"""The ``danmaku-agent`` command. Each subcommand lives in ``agent.commands.<name>`` and is
imported only when chosen, so ``--help`` and small commands start fast.

Exit codes: 0 success, 1 findings (preflight) or failure, 2 bad usage, config or input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from agent import __version__

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("agent.commands.run", "run the agent with a config file"),
    "demo": ("agent.commands.demo", "replay the bundled sample broadcast and show alerts"),
    "reload": ("agent.commands.reload", "make a running agent re-read its config (SIGHUP)"),
    "classify": ("agent.commands.classify", "classify danmaku lines from a JSONL file"),
    "train": ("agent.commands.train", "train the intent model from labelled JSONL"),
    "eval": ("agent.commands.eval", "evaluate the intent model on labelled JSONL"),
    "check-speech": ("agent.commands.check_speech", "check host utterances against the catalog"),
    "preflight": ("agent.commands.preflight", "check a broadcast script against the catalog"),
    "eval-speech": ("agent.commands.eval_speech", "score host-speech checking on labelled JSONL"),
    "report": ("agent.commands.report", "write the after-show report of a room"),
    "purge": ("agent.commands.purge", "delete records older than the retention period"),
    "export-user": ("agent.commands.export_user", "export what is stored about one viewer"),
    "forget-user": ("agent.commands.forget_user", "delete what is stored about one viewer"),
}

DESCRIPTION = """\
Watch live-commerce rooms: classify danmaku (after-sales questions), check the host's
words against the product FAQ, route alerts to on-duty staff, keep records, export metrics.
"""


def _top_parser() -> argparse.ArgumentParser:
    width = max(len(name) for name in COMMANDS)
    listing = "\n".join(f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="danmaku-agent",
        description=DESCRIPTION,
        epilog=f"commands:\n{listing}\n\nRun 'danmaku-agent COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"danmaku-agent {__version__}")
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND", help="see below")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        parser = _top_parser()
        parser.parse_args(args[:1])  # prints help/version/usage error and exits
        return 2
    name, rest = args[0], args[1:]
    module_name, text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog=f"danmaku-agent {name}",
        description=getattr(module, "HELP", text),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    options = parser.parse_args(rest)
    try:
        code: int = module.run(options)
    except KeyboardInterrupt:
        return 130
    return code


def entry() -> None:
    """Console-script wrapper: exit with ``main``'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
