"""Task modules; importing this package registers every task with the app."""

from workers.tasks import chats, diagnostics, insights, maintenance, rag

__all__ = ["chats", "diagnostics", "insights", "maintenance", "rag"]
