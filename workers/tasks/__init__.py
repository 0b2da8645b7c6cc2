"""Task modules; importing this package registers every task with the app."""

from workers.tasks import diagnostics, maintenance

__all__ = ["diagnostics", "maintenance"]
