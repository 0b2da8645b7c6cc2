"""Answerers: turn a question and its evidence into a streamed answer with `[n]` markers.

`base` holds the shared interface; `local` answers offline by quoting the evidence. The
configured one is picked in `registry`.
"""

from src.rag.answerers.base import Answerer, AnswerError, Evidence, Turn, markers_used
from src.rag.answerers.local import LocalAnswerer

__all__ = ["AnswerError", "Answerer", "Evidence", "LocalAnswerer", "Turn", "markers_used"]
