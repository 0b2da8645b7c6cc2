"""What WhatsApp writes into an export in each language, and what it means.

A phone writes its export in its own language: the media placeholders, the attachment lines,
the deleted and edited markers and the am/pm words below are the strings of the Android and
iOS apps, per language, as best known (small variants, such as a final period, are accepted by
the lookups). Group notices (created, added, left, changed the subject, ...) need no table: on
Android they are the lines without a `Name: ` part, on iOS they follow the name after a
left-to-right mark, and the few that quote a subject containing ": " are told apart by their
quotes (see `whatsapp._sender`). The examples under "notices" document them and feed the tests.

Every lookup here is a dict or set probe on a short, normalised string: nothing scans a line
more than a constant number of times.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from src.chats.parsers.base import Attachment, AttachmentKind, MessageKind

# Invisible direction marks and BOMs that iOS and some phones put around names, dates and lines.
MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
# Plain, no-break and narrow no-break space: phones put any of them inside times.
SPACES = " \u00a0\u202f"

K = AttachmentKind


@dataclass(frozen=True)
class Locale:
    """The fixed strings of one language's exports (lowercase or as written; lookups fold)."""

    name: str
    media_omitted: tuple[str, ...]  # Android "<Media omitted>", without the brackets
    omitted: dict[str, AttachmentKind]  # iOS "image omitted" and the like
    attached: tuple[str, ...]  # Android "IMG-1.jpg (file attached)", without the parentheses
    attached_label: tuple[str, ...]  # iOS "<attached: 00000012-PHOTO-....jpg>"
    deleted: tuple[str, ...]  # "This message was deleted", "You deleted this message"
    edited: tuple[str, ...]  # "<This message was edited>", without the brackets
    calls: tuple[str, ...]  # iOS "Missed voice call": a notice, not something typed
    title_prefixes: tuple[str, ...] = ()  # "WhatsApp Chat with Alice.txt"
    # Examples of notices with a quoted subject containing ": " (documentation and tests).
    notices: tuple[str, ...] = field(default=())


LOCALES: tuple[Locale, ...] = (
    Locale(
        name="en",
        media_omitted=("Media omitted", "video note omitted"),
        omitted={
            "image omitted": K.PHOTO,
            "video omitted": K.VIDEO,
            "audio omitted": K.AUDIO,
            "sticker omitted": K.STICKER,
            "GIF omitted": K.GIF,
            "Contact card omitted": K.CONTACT,
            "document omitted": K.DOCUMENT,
        },
        attached=("file attached",),
        attached_label=("attached",),
        deleted=("This message was deleted", "You deleted this message"),
        edited=("This message was edited",),
        calls=(
            "Missed voice call",
            "Missed video call",
            "Missed group voice call",
            "Missed group video call",
        ),
        title_prefixes=("WhatsApp Chat with", "WhatsApp Chat -"),
        notices=('Alice changed the subject from "Trip" to "Trip: Rome"',),
    ),
    Locale(
        name="es",
        media_omitted=("Multimedia omitido", "Archivo omitido"),
        omitted={
            "imagen omitida": K.PHOTO,
            "video omitido": K.VIDEO,
            "vídeo omitido": K.VIDEO,
            "audio omitido": K.AUDIO,
            "sticker omitido": K.STICKER,
            "GIF omitido": K.GIF,
            "Tarjeta de contacto omitida": K.CONTACT,
            "documento omitido": K.DOCUMENT,
        },
        attached=("archivo adjunto",),
        attached_label=("adjunto", "archivo adjunto"),
        deleted=(
            "Se eliminó este mensaje",
            "Eliminaste este mensaje",
            "Este mensaje fue eliminado",
        ),
        edited=("Se editó este mensaje", "Mensaje editado"),
        calls=("Llamada perdida", "Llamada de voz perdida", "Videollamada perdida"),
        title_prefixes=("Chat de WhatsApp con",),
        notices=("Alice cambió el asunto de “Viaje” a “Viaje: Roma”",),
    ),
    Locale(
        name="pt",
        media_omitted=("Mídia oculta", "Multimédia omitida", "Arquivo de mídia oculto"),
        omitted={
            "imagem ocultada": K.PHOTO,
            "imagem não revelada": K.PHOTO,
            "vídeo ocultado": K.VIDEO,
            "vídeo não revelado": K.VIDEO,
            "áudio ocultado": K.AUDIO,
            "ficheiro de áudio não revelado": K.AUDIO,
            "figurinha omitida": K.STICKER,
            "sticker não revelado": K.STICKER,
            "GIF omitido": K.GIF,
            "GIF não revelada": K.GIF,
            "cartão de contato omitido": K.CONTACT,
            "Contacto não revelado": K.CONTACT,
            "documento omitido": K.DOCUMENT,
            "documento não revelado": K.DOCUMENT,
        },
        attached=("arquivo anexado", "ficheiro anexado"),
        attached_label=("anexado", "anexo"),
        deleted=(
            "Esta mensagem foi apagada",
            "Esta mensagem foi eliminada",
            "Você apagou esta mensagem",
            "Apagou esta mensagem",
            "Mensagem apagada",
        ),
        edited=("Mensagem editada", "Esta mensagem foi editada"),
        calls=("Chamada de voz perdida", "Chamada de vídeo perdida"),
        title_prefixes=("Conversa do WhatsApp com",),
        notices=('Alice mudou o assunto de "Viagem" para "Viagem: Roma"',),
    ),
    Locale(
        name="de",
        media_omitted=("Medien ausgeschlossen", "Medien weggelassen"),
        omitted={
            "Bild weggelassen": K.PHOTO,
            "Video weggelassen": K.VIDEO,
            "Audio weggelassen": K.AUDIO,
            "Sticker weggelassen": K.STICKER,
            "GIF weggelassen": K.GIF,
            "Kontaktkarte ausgelassen": K.CONTACT,
            "Kontaktkarte weggelassen": K.CONTACT,
            "Dokument weggelassen": K.DOCUMENT,
        },
        attached=("Datei angehängt",),
        attached_label=("Anhang", "angehängt"),
        deleted=("Diese Nachricht wurde gelöscht", "Du hast diese Nachricht gelöscht"),
        edited=("Diese Nachricht wurde bearbeitet", "Nachricht bearbeitet"),
        calls=("Verpasster Sprachanruf", "Verpasster Videoanruf"),
        title_prefixes=("WhatsApp-Chat mit",),
        notices=("Alice hat den Betreff von „Reise“ zu „Reise: Rom“ geändert",),
    ),
    Locale(
        name="fr",
        media_omitted=("Médias omis", "Fichier omis"),
        omitted={
            "image absente": K.PHOTO,
            "vidéo absente": K.VIDEO,
            "audio omis": K.AUDIO,
            "sticker omis": K.STICKER,
            "GIF retiré": K.GIF,
            "Fiche contact manquante": K.CONTACT,
            "document manquant": K.DOCUMENT,
        },
        attached=("fichier joint",),
        attached_label=("pièce jointe", "joint"),
        deleted=("Ce message a été supprimé", "Vous avez supprimé ce message"),
        edited=("Ce message a été modifié", "Message modifié"),
        calls=("Appel vocal manqué", "Appel vidéo manqué"),
        title_prefixes=("Discussion WhatsApp avec",),
        notices=("Alice a modifié le sujet de « Voyage » en « Voyage : Rome »",),
    ),
    Locale(
        name="it",
        media_omitted=("Media omessi", "Media omesso"),
        omitted={
            "immagine omessa": K.PHOTO,
            "video omesso": K.VIDEO,
            "audio omesso": K.AUDIO,
            "sticker omesso": K.STICKER,
            "sticker non incluso": K.STICKER,
            "GIF omessa": K.GIF,
            "GIF esclusa": K.GIF,
            "Scheda contatto omessa": K.CONTACT,
            "documento omesso": K.DOCUMENT,
        },
        attached=("file allegato",),
        attached_label=("allegato",),
        deleted=("Questo messaggio è stato eliminato", "Hai eliminato questo messaggio"),
        edited=("Questo messaggio è stato modificato", "Messaggio modificato"),
        calls=("Chiamata vocale persa", "Videochiamata persa"),
        title_prefixes=("Chat WhatsApp con",),
        notices=('Alice ha cambiato l\'oggetto da "Viaggio" a "Viaggio: Roma"',),
    ),
    Locale(
        name="nl",
        media_omitted=("Media weggelaten",),
        omitted={
            "afbeelding weggelaten": K.PHOTO,
            "video weggelaten": K.VIDEO,
            "audio weggelaten": K.AUDIO,
            "sticker weggelaten": K.STICKER,
            "GIF weggelaten": K.GIF,
            "contactkaart weggelaten": K.CONTACT,
            "document weggelaten": K.DOCUMENT,
        },
        attached=("bestand bijgevoegd",),
        attached_label=("bijlage", "bijgevoegd"),
        deleted=("Dit bericht is verwijderd", "Je hebt dit bericht verwijderd"),
        edited=("Dit bericht is bewerkt", "Bericht bewerkt"),
        calls=("Gemiste spraakoproep", "Gemiste video-oproep"),
        title_prefixes=("WhatsApp-chat met",),
        notices=('Alice heeft het onderwerp gewijzigd van "Reis" naar "Reis: Rome"',),
    ),
    Locale(
        name="ru",
        media_omitted=("Без медиафайлов", "Медиафайл отсутствует"),
        omitted={
            "изображение отсутствует": K.PHOTO,
            "видео отсутствует": K.VIDEO,
            "аудио отсутствует": K.AUDIO,
            "стикер не добавлен": K.STICKER,
            "стикер отсутствует": K.STICKER,
            "GIF отсутствует": K.GIF,
            "карточка контакта отсутствует": K.CONTACT,
            "документ отсутствует": K.DOCUMENT,
        },
        attached=("файл добавлен", "файл прикреплен", "файл прикреплён"),
        attached_label=("прикреплено", "вложение", "файл"),
        deleted=(
            "Данное сообщение удалено",
            "Вы удалили данное сообщение",
            "Это сообщение удалено",
            "Вы удалили это сообщение",
        ),
        edited=("Сообщение изменено", "Это сообщение изменено", "Данное сообщение изменено"),
        calls=("Пропущенный аудиозвонок", "Пропущенный видеозвонок"),
        title_prefixes=("Чат WhatsApp с контактом", "Чат WhatsApp с"),
        notices=("Alice изменил(-а) тему с «Поездка» на «Поездка: Рим»",),
    ),
    Locale(
        name="tr",
        media_omitted=("Medya dahil edilmedi", "Medya çıkarıldı"),
        omitted={
            "görüntü dahil edilmedi": K.PHOTO,
            "video dahil edilmedi": K.VIDEO,
            "ses dahil edilmedi": K.AUDIO,
            "çıkartma dahil edilmedi": K.STICKER,
            "GIF dahil edilmedi": K.GIF,
            "kişi kartı dahil edilmedi": K.CONTACT,
            "belge dahil edilmedi": K.DOCUMENT,
        },
        attached=("dosya ekli", "dosya eklendi"),
        attached_label=("ek", "ekli", "eklendi"),
        deleted=("Bu mesaj silindi", "Bu mesajı sildiniz", "Bu mesajı sildin"),
        edited=("Bu mesaj düzenlendi", "Düzenlendi"),
        calls=("Cevapsız sesli arama", "Cevapsız görüntülü arama"),
        notices=('Alice konuyu "Gezi" iken "Gezi: Roma" olarak değiştirdi',),
    ),
    Locale(
        name="id",
        media_omitted=("Media tidak disertakan",),
        omitted={
            "gambar tidak disertakan": K.PHOTO,
            "video tidak disertakan": K.VIDEO,
            "audio tidak disertakan": K.AUDIO,
            "stiker tidak disertakan": K.STICKER,
            "GIF tidak disertakan": K.GIF,
            "kartu kontak tidak disertakan": K.CONTACT,
            "dokumen tidak disertakan": K.DOCUMENT,
        },
        attached=("file terlampir", "berkas terlampir"),
        attached_label=("terlampir", "lampiran"),
        deleted=("Pesan ini telah dihapus", "Anda menghapus pesan ini"),
        edited=("Pesan ini telah diedit", "Pesan ini diedit", "Pesan telah diedit"),
        calls=("Panggilan suara tak terjawab", "Panggilan video tak terjawab"),
        title_prefixes=("Chat WhatsApp dengan",),
        notices=('Alice mengubah subjek dari "Liburan" menjadi "Liburan: Roma"',),
    ),
    # Fewer strings known for these; cheap to accept.
    Locale(
        name="cs",
        media_omitted=("Média vynechána", "Média vynechány"),
        omitted={
            "obrázek vynechán": K.PHOTO,
            "video vynecháno": K.VIDEO,
            "GIF vynechán": K.GIF,
            "nálepka vynechána": K.STICKER,
            "Vizitka vynechána": K.CONTACT,
            "dokument vynechán": K.DOCUMENT,
        },
        attached=("soubor byl přiložen",),
        attached_label=("příloha",),
        deleted=("Tato zpráva byla smazána", "Tuto zprávu jste smazal/a"),
        edited=("Tato zpráva byla upravena",),
        calls=("Zmeškaný hovor",),
    ),
    Locale(
        name="uk",
        media_omitted=("Без медіафайлів",),
        omitted={
            "зображення відсутнє": K.PHOTO,
            "відео відсутнє": K.VIDEO,
            "аудіо відсутнє": K.AUDIO,
            "Наклейку не додано": K.STICKER,
            "GIF-анімацію пропущено": K.GIF,
            "Картка контакту відсутня": K.CONTACT,
            "документ пропущено": K.DOCUMENT,
        },
        attached=("файл додано",),
        attached_label=("вкладення",),
        deleted=("Це повідомлення було видалено", "Ви видалили це повідомлення"),
        edited=("Повідомлення змінено",),
        calls=(),
    ),
    Locale(
        name="ar",
        media_omitted=("الوسائط محذوفة", "تم استبعاد الوسائط"),
        omitted={
            "لم يتم إدراج الصورة": K.PHOTO,
            "لم يتم إدراج الفيديوهات": K.VIDEO,
            "لم يتم إدراج المقاطع الصوتية": K.AUDIO,
            "تم حذف الملصقات": K.STICKER,
            "لم يتم إدراج صورة GIF": K.GIF,
            "لم يتم إدراج بطاقة جهة اتصال": K.CONTACT,
            "لم يتم إدراج المستند": K.DOCUMENT,
        },
        attached=("ملف مرفق",),
        attached_label=("مرفق",),
        deleted=("تم حذف هذه الرسالة", "لقد حذفت هذه الرسالة"),
        edited=("تم تعديل هذه الرسالة",),
        calls=(),
    ),
    Locale(
        name="pl",
        media_omitted=("Pominięto multimedia",),
        omitted={"pominięto obraz": K.PHOTO, "pominięto wideo": K.VIDEO},
        attached=("załączono plik",),
        attached_label=("załączono",),
        deleted=("Ta wiadomość została usunięta", "Usunięto tę wiadomość"),
        edited=("Ta wiadomość została edytowana",),
        calls=(),
    ),
)

# The am/pm words of 12-hour clocks, as written ("." stands for an optional period that may be
# followed by a space: "a.m." also reads "am", "a. m." and "a.\u00a0m."). True for afternoon.
MERIDIEM_WORDS: dict[str, bool] = {
    "a.m.": False,
    "p.m.": True,
    "vorm.": False,  # German
    "nachm.": True,
    "上午": False,  # Chinese; also before the time: "下午3:45"
    "凌晨": False,
    "早上": False,
    "中午": True,
    "下午": True,
    "晚上": True,
    "오전": False,  # Korean
    "오후": True,
    "午前": False,  # Japanese
    "午後": True,
    "ص": False,  # Arabic
    "م": True,
    "π.μ.": False,  # Greek
    "μ.μ.": True,
    "ap.": False,  # Finnish
    "ip.": True,
    "öö": False,  # Turkish
    "ös": True,
    "sa": False,  # Vietnamese
    "ch": True,
    "ก่อนเที่ยง": False,  # Thai
    "หลังเที่ยง": True,
    "पूर्वाह्न": False,  # Hindi
    "अपराह्न": True,
    "ق.ظ.": False,  # Persian
    "ب.ظ.": True,
    "pg": False,  # Malay
    "ptg": True,
    "fm": False,  # Swedish
    "em": True,
    "vm.": False,  # Afrikaans
    "nm.": True,
    "dop.": False,  # Czech
    "odp.": True,
    "de.": False,  # Hungarian
    "du.": True,
    "дп": False,  # Ukrainian, Russian
    "пп": True,
}

_DOTS_AND_SPACES = str.maketrans("", "", "." + SPACES)


def meridiem_pattern(space: str) -> str:
    """A regex alternation of every am/pm word (longest first), for a case-insensitive group."""
    branches = set()
    for word in MERIDIEM_WORDS:
        parts = [re.escape(piece) for piece in word.split(".")]
        # "a.m." -> a\.?(?:SPACE)?m\.? : each period optional, a space allowed after it.
        branch = rf"\.?{space}?".join(p for p in parts if p)
        if word.endswith("."):
            branch += r"\.?"
        branches.add(branch)
    return "|".join(sorted(branches, key=lambda b: (-len(b), b)))


def meridiem_starts() -> str:
    """The characters an am/pm word can start with, as a regex class body (both cases)."""
    firsts = {word[0] for word in MERIDIEM_WORDS}
    both = {c for first in firsts for c in (first.lower(), first.upper())}
    return "".join(re.escape(c) for c in sorted(both))


_MERIDIEM_CACHE: dict[str, bool] = {
    word.translate(_DOTS_AND_SPACES): pm for word, pm in MERIDIEM_WORDS.items()
}


def is_pm(word: str) -> bool:
    """Whether an am/pm word the header regex matched means the afternoon."""
    pm = _MERIDIEM_CACHE.get(word)
    if pm is None:
        pm = _MERIDIEM_CACHE.get(word.translate(_DOTS_AND_SPACES).casefold(), False)
        _MERIDIEM_CACHE[word] = pm
    return pm


def fold(text: str) -> str:
    """The form the lookups compare: no marks or spaces around, no final period, casefolded."""
    return text.strip(MARKS + SPACES).rstrip(".").rstrip(MARKS + SPACES).casefold()


def _folded(strings: Iterable[str]) -> frozenset[str]:
    return frozenset(fold(s) for s in strings)


def _union(pick: Callable[[Locale], Iterable[str]]) -> frozenset[str]:
    return frozenset().union(*(_folded(pick(loc)) for loc in LOCALES))


class Meaning(NamedTuple):
    """What a fixed body WhatsApp writes stands for."""

    kind: MessageKind
    attachment: Attachment | None
    keeps_sender: bool  # False for notices: the name before them is not who "said" them


_ATTACHED_SUFFIXES = _union(lambda loc: loc.attached)
_ATTACHED_LABELS = _union(lambda loc: loc.attached_label)
_MEDIA_OMITTED = _union(lambda loc: loc.media_omitted)
EDITED = _union(lambda loc: loc.edited)
TITLE_PREFIXES: tuple[str, ...] = tuple(
    sorted({p.lower() for loc in LOCALES for p in loc.title_prefixes}, key=len, reverse=True)
)

_DELETED = Meaning(MessageKind.SYSTEM, None, True)
_CALL = Meaning(MessageKind.SYSTEM, None, False)
_AS_WRITTEN: dict[str, Meaning] = {
    **{text: _DELETED for loc in LOCALES for text in loc.deleted},
    **{text: _CALL for loc in LOCALES for text in loc.calls},
    **{
        text: Meaning(MessageKind.MEDIA, Attachment(kind), True)
        for loc in LOCALES
        for text, kind in loc.omitted.items()
    },
}
# Folded bodies -> meaning, for bodies behind marks (iOS) where the cost of folding is rare.
FOLDED: dict[str, Meaning] = {fold(text): meaning for text, meaning in _AS_WRITTEN.items()}


def _variants(text: str) -> set[str]:
    base = text.rstrip(".")
    forms = {base, base + "."}
    return forms | {f[:1].upper() + f[1:] for f in forms} | {f[:1].lower() + f[1:] for f in forms}


# Bodies exactly as phones write them (with or without the final period, either case of the
# first letter) -> meaning: one dict probe for a plain message, no folding on the hot path.
PLAIN: dict[str, Meaning] = {
    variant: meaning for text, meaning in _AS_WRITTEN.items() for variant in _variants(text)
}
# Bodies longer than this match no fixed string: they skip the folded lookup.
LONGEST = max(len(text) for text in FOLDED) + 8


def bracketed(inner: str) -> Attachment | None:
    """The attachment a `<...>` body stands for: Android "<Media omitted>" (no file) or iOS
    "<attached: 00000012-PHOTO-....jpg>" (a file), in any language of the tables; a label in
    another language is accepted when the file has an iOS media name."""
    label, colon, name = inner.partition(":")
    if colon:
        name = name.strip(MARKS + SPACES)
        if name and (fold(label) in _ATTACHED_LABELS or is_media_file_name(name)):
            return Attachment(attachment_kind(name), name)
        return None
    if len(inner) <= LONGEST and fold(inner) in _MEDIA_OMITTED:
        return _NO_FILE
    return None


_NO_FILE = Attachment(AttachmentKind.OTHER)


def attachment_line(body: str) -> Attachment | None:
    """The file of an Android attachment line, "IMG-20210312-WA0001.jpg (file attached)" in
    any language of the tables (or any language, for a WhatsApp media file name)."""
    start = body.rfind(" (")
    if start <= 0:
        return None
    name = body[:start].strip(MARKS + SPACES)
    suffix = body[start + 2 : -1]
    if name and (fold(suffix) in _ATTACHED_SUFFIXES or is_media_file_name(name)):
        return Attachment(attachment_kind(name), name)
    return None


def document_omitted(body: str) -> Attachment | None:
    """iOS "Report.pdf • 3 pages \u200edocument omitted": the words after the last mark."""
    mark = body.rfind("\u200e")
    tail = body[mark + 1 :]
    if mark <= 0 or len(tail) > LONGEST:
        return None
    meaning = FOLDED.get(fold(tail))
    if meaning is None or meaning.attachment is None:
        return None
    name = body[:mark].strip(MARKS + SPACES).partition(" \u2022 ")[0].strip(MARKS + SPACES)
    return Attachment(meaning.attachment.kind, name or None)


_BLANK = MARKS + SPACES + "\t\n\r"


def strip_edited(text: str) -> tuple[str, bool]:
    """`text` without the edited marker at its end ("hi <This message was edited>", also on a
    line of its own), and whether there was one."""
    end = text.rstrip(_BLANK)
    if end[-1:] != ">":
        return text, False
    start = end.rfind("<")
    if start == -1 or fold(end[start + 1 : -1]) not in EDITED:
        return text, False
    return end[:start].rstrip(_BLANK), True


# Android media files: "IMG-20210312-WA0001.jpg", "PTT-20210312-WA0007.opus".
_ANDROID_PREFIX = {
    "IMG": K.PHOTO,
    "VID": K.VIDEO,
    "AUD": K.AUDIO,
    "PTT": K.VOICE,
    "STK": K.STICKER,
    "DOC": K.DOCUMENT,
}
# iOS media files: "00000012-PHOTO-2021-03-12-14-05-09.jpg".
_IOS_TOKEN = {
    "PHOTO": K.PHOTO,
    "VIDEO": K.VIDEO,
    "AUDIO": K.VOICE,  # iOS names voice notes AUDIO; other audio files keep their own names
    "STICKER": K.STICKER,
    "GIF": K.GIF,
    "CONTACT": K.CONTACT,
}
_EXTENSION = {
    **dict.fromkeys(("jpg", "jpeg", "png", "webp", "heic", "heif", "bmp", "tif", "tiff"), K.PHOTO),
    **dict.fromkeys(("mp4", "mov", "3gp", "mkv", "webm", "avi", "m4v"), K.VIDEO),
    **dict.fromkeys(("mp3", "m4a", "aac", "ogg", "oga", "wav", "amr", "flac"), K.AUDIO),
    "opus": K.VOICE,
    "gif": K.GIF,
    "vcf": K.CONTACT,
}


def attachment_kind(file_name: str) -> AttachmentKind:
    """What a WhatsApp media file is, from its name: the Android prefix or the iOS token, else
    the extension; any other file was sent as a document."""
    upper = file_name[:4].upper()
    if upper[3:] == "-" and upper[:3] in _ANDROID_PREFIX:
        return _ANDROID_PREFIX[upper[:3]]
    if file_name[:8].isdigit() and file_name[8:9] == "-":
        token = file_name[9:].split("-", 1)[0].upper()
        if token in _IOS_TOKEN:
            return _IOS_TOKEN[token]
    stem, dot, extension = file_name.rpartition(".")
    if not dot or not stem:
        return K.OTHER
    return _EXTENSION.get(extension.lower(), K.DOCUMENT)


def is_media_file_name(name: str) -> bool:
    """Whether a name is one WhatsApp gives media files (so `name (anything)` is an attachment
    line in a language missing from the tables)."""
    upper = name[:4].upper()
    if upper[3:] == "-" and upper[:3] in _ANDROID_PREFIX:
        return name[4:12].isdigit() and name[12:15] == "-WA"
    return name[:8].isdigit() and name[8:9] == "-" and "." in name
