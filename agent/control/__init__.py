"""Staff actions from outside: MQTT command topics and signed, expiring ack links."""

from agent.control.acklink import AckLinker, ack_link_handler, make_ack_link, verify_ack_link
from agent.control.commands import CommandError, CommandSubscriber, parse_command

__all__ = [
    "AckLinker",
    "CommandError",
    "CommandSubscriber",
    "ack_link_handler",
    "make_ack_link",
    "parse_command",
    "verify_ack_link",
]
