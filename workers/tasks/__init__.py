"""Task modules; importing this package registers every task with the app."""

from workers.tasks import chats, diagnostics, maintenance

__all__ = ["chats", "diagnostics", "maintenance"]
