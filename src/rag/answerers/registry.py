"""The configured answerer (`RAG_ANSWERER`)."""

from src.config import get_settings
from src.rag.answerers.base import Answerer
from src.rag.answerers.local import LocalAnswerer


def get_answerer() -> Answerer:
    if get_settings().rag_answerer == "openai":
        from src.rag.answerers.openai import OpenAIAnswerer

        return OpenAIAnswerer()
    return LocalAnswerer()
