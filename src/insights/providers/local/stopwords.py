"""Stop words for the text insights (keywords, summary): English, Spanish and chat noise.

The tokenizer keeps words of three or more letters, so the lists focus on those; a few shorter
ones are listed anyway for completeness. Spanish words appear with and without their accents
because chats are often typed without them. Contractions are split at the apostrophe by the
tokenizer, which is why fragments such as "don" and "didn" are listed.
"""

from __future__ import annotations

ENGLISH: frozenset[str] = frozenset(
    """
    a about above after again against all almost also although always am among an and another
    any anybody anyone anything anyway are aren around as at back be became because become been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don done down during each either else enough etc even ever every everyone everything few
    for from further get gets getting going gone got had hadn has hasn have haven having he her
    here hers herself him himself his how however into is isn it its itself just let lets like
    made make many may maybe me might mine more most much must mustn my myself neither never
    next no none nor not nothing now of off often on once one only onto or other others our ours
    ourselves out over own per quite rather really said same say says shall she should shouldn
    since so some somebody someone something sometimes still such than that the their theirs
    them themselves then there these they thing things this those though through thus till to
    too toward towards under until unto up upon us very via was wasn way we well were weren
    what whatever when where whether which while who whom whose why will with within without
    won would wouldn yeah yes yet you your yours yourself yourselves ain gonna wanna gotta okay
    actually
    """.split()
)

SPANISH: frozenset[str] = frozenset(
    """
    a al algo alguien algún alguna algunas alguno algunos ante antes aquel aquella aquellas
    aquello aquellos aquí aqui así asi aún aun bien cada casi como cómo con contra cual cuál
    cuales cuando cuándo cuanto cuánto de del desde donde dónde dos durante el él ella ellas
    ellos en entonces entre era eran eres es esa esas ese eso esos esta está estaba estaban
    estamos están estar estas este esté esto estos estoy fue fueron fui ha había habia han has
    hasta hay haya he hemos hace hacer hacia hago la las le les lo los más mas me mi mí mis
    mismo mucho muchos muy nada ni no nos nosotros nuestra nuestro o otra otras otro otros para
    pero poco por porque pues que qué quien quién quienes se sea ser si sí sido siempre sin
    sobre solo sólo son soy su sus también tambien tan tanto te tener tengo ti tiene tienen
    todo todos tu tú tus un una unas uno unos usted ustedes va vamos van vas ver vez voy ya yo
    estás ahí ahi allí alli acá aca luego tal tampoco tenía tenia tuve
    vale bueno sean será sera serán seran hubo nuestras nuestros vuestra
    vuestro vosotros vosotras mía mia mío mio tuyo tuya suyo suya dice dijo creo
    """.split()
)

CHAT_NOISE: frozenset[str] = frozenset(
    """
    media omitted image video audio sticker gif document attached deleted edited null
    http https www com
    multimedia omitido omitida imagen eliminado eliminó editado adjunto
    lol lmao omg
    """.split()
)
"""Placeholders that exports write instead of content, URL fragments and filler."""

STOP_WORDS: dict[str, frozenset[str]] = {"en": ENGLISH, "es": SPANISH}
DEFAULT_LANGUAGE = "en"


def resolve_language(language: str) -> str:
    """The supported language code for an option value: "es-AR" -> "es"; unknown -> "en"."""
    code = language.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in STOP_WORDS else DEFAULT_LANGUAGE


def stop_words_for(language: str) -> frozenset[str]:
    """The words to drop for a language (see `resolve_language`), chat noise included."""
    return STOP_WORDS[resolve_language(language)] | CHAT_NOISE
