"""Chat-export parsers: bytes of a WhatsApp, Telegram, Signal, Instagram, JSON or CSV export in,
a `ParsedChat` out. Pure Python and synchronous; call `parse_export` off the event loop.
"""

from src.chats.parsers.base import (
    Attachment,
    AttachmentKind,
    ChatFormat,
    DateOrder,
    DateOrderSource,
    ExportError,
    MalformedExport,
    MessageKind,
    ParsedChat,
    ParsedMessage,
    Reaction,
    UnknownFormat,
)
from src.chats.parsers.dispatch import parse_export

__all__ = [
    "Attachment",
    "AttachmentKind",
    "ChatFormat",
    "DateOrder",
    "DateOrderSource",
    "ExportError",
    "MalformedExport",
    "MessageKind",
    "ParsedChat",
    "ParsedMessage",
    "Reaction",
    "UnknownFormat",
    "parse_export",
]
