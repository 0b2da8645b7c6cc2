"""The language a chat is written in, and the PostgreSQL text-search configuration for it.

Detection reads a sample of the chat's messages with `py3langid` (a small n-gram model shipped
in its package; nothing is downloaded) and gives an ISO 639-1 code, or None when there is too
little text to tell. Full text then uses that language's configuration (its stemmer and stop
words) where PostgreSQL has one, and `simple` (lower-casing only) otherwise.
"""

from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["SIMPLE", "detect_language", "search_config"]

SIMPLE = "simple"
#: The configurations PostgreSQL ships (16 and later), by the language they are for.
CONFIGS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
#: Letters needed before a guess is worth anything.
MIN_LETTERS = 40
SAMPLE_CHARS = 20_000


def detect_language(texts: Iterable[str]) -> str | None:
    """The ISO 639-1 code of the language most of `texts` are written in (read up to about
    `SAMPLE_CHARS` characters), or None when they hold fewer than `MIN_LETTERS` letters."""
    sample: list[str] = []
    size = 0
    for item in texts:
        sample.append(item)
        size += len(item)
        if size >= SAMPLE_CHARS:
            break
    joined = "\n".join(sample)
    if sum(char.isalpha() for char in joined) < MIN_LETTERS:
        return None
    import py3langid  # loads its model (about 0.5 s) on first use

    language, _ = py3langid.classify(joined)
    return str(language)


#: Whether the server has each configuration asked about: a server's configurations do not
#: change while it runs, so each is looked up once per process, not on every question.
_present: dict[str, bool] = {}


async def search_config(session: AsyncSession, language: str | None) -> str:
    """The text-search configuration for `language`: its own where this server has one,
    else `simple`."""
    name = CONFIGS.get(language or "")
    if name is None:
        return SIMPLE
    if name not in _present:
        found = await session.scalar(
            select(text("cfgname"))
            .select_from(text("pg_ts_config"))
            .where(text("cfgname = :name")),
            {"name": name},
        )
        _present[name] = found is not None
    return name if _present[name] else SIMPLE
