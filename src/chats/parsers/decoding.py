"""Bytes to text: zip members, byte-order marks, UTF-16 without BOM, and refusing binary junk."""

from __future__ import annotations

import codecs
import io
import posixpath
import zipfile
import zlib

from src.chats.parsers.base import ChatFormat, MalformedExport, UnpackedTooLarge

# Signatures of files people upload by mistake; naming them gives a better error than "unknown".
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"OggS", "an audio file"),
    (b"RIFF", "a media file"),
)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

# Exports are text: a sample with more control characters (or undecodable bytes) than these
# shares is not one.
_MAX_CONTROL_SHARE = 0.02
_MAX_REPLACED_SHARE = 0.1
_SAMPLE = 64 * 1024
_CONTROL_CHARS = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v") | {"\x7f"}


def is_zip(data: bytes) -> bool:
    """Whether the bytes are a zip archive (by its local-header or empty-archive signature)."""
    return data[:4] in _ZIP_MAGIC


# Which kinds of zip member to prefer, first to last, depending on the requested format.
_TEXT_FIRST = ("chat_txt", "export_json", "txt", "json", "csv")
_JSON_FIRST = ("export_json", "json", "chat_txt", "txt", "csv")
_CSV_FIRST = ("csv", "chat_txt", "export_json", "txt", "json")


def _member_kind(name: str) -> str | None:
    """Classify a zip member by its name; None for media, folders and macOS metadata."""
    base = posixpath.basename(name).lower()
    if not base or base.startswith(".") or name.startswith("__MACOSX/"):
        return None
    if base.endswith(".txt"):
        return "chat_txt" if base == "_chat.txt" or "whatsapp" in base else "txt"
    if base.endswith(".json"):
        return "export_json" if base == "result.json" or base.startswith("message_") else "json"
    if base.endswith(".csv"):
        return "csv"
    return None


def _preference(wanted: ChatFormat | None) -> tuple[str, ...]:
    if wanted in (ChatFormat.TELEGRAM, ChatFormat.INSTAGRAM, ChatFormat.JSON):
        return _JSON_FIRST
    if wanted is ChatFormat.CSV:
        return _CSV_FIRST
    return _TEXT_FIRST


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise MalformedExport("The zip file is damaged and cannot be opened.") from exc


def _export_member(archive: zipfile.ZipFile, wanted: ChatFormat | None) -> zipfile.ZipInfo:
    order = _preference(wanted)
    ranked = [
        (order.index(kind), -info.file_size, info)
        for info in archive.infolist()
        if not info.is_dir() and (kind := _member_kind(info.filename)) is not None
    ]
    if not ranked:
        raise MalformedExport("The zip file holds no chat export (.txt, .json or .csv).")
    ranked.sort(key=lambda item: (item[0], item[1], item[2].filename))
    return ranked[0][2]


def unpacked_size(data: bytes, wanted: ChatFormat | None = None) -> int:
    """The size of the export once unpacked: a zip's export member as its directory declares
    it (the read itself is capped later), anything else as it is."""
    if not is_zip(data):
        return len(data)
    with _open(data) as archive:
        return _export_member(archive, wanted).file_size


def extract_zip_member(
    data: bytes, *, max_unzipped_bytes: int, wanted: ChatFormat | None = None
) -> tuple[str, bytes]:
    """The (name, content) of the member of a zip that holds the chat export.

    WhatsApp zips hold `_chat.txt` or `WhatsApp Chat with X.txt` beside media files; Telegram
    zips hold `result.json`. The member's declared size is checked before reading and the read
    itself is capped, so a lying header cannot inflate past `max_unzipped_bytes`
    (`UnpackedTooLarge` either way).
    """
    with _open(data) as archive:
        info = _export_member(archive, wanted)
        if info.file_size > max_unzipped_bytes:
            raise UnpackedTooLarge(info.file_size)
        try:
            with archive.open(info) as member:
                content = member.read(max_unzipped_bytes + 1)
        except RuntimeError as exc:  # zipfile raises it for encrypted members
            raise MalformedExport("The zip file is password-protected.") from exc
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError) as exc:
            raise MalformedExport("The zip file is damaged and cannot be read.") from exc
    if len(content) > max_unzipped_bytes:
        raise UnpackedTooLarge(len(content))
    return info.filename, content


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when NUL bytes sit in the high half of mostly-ASCII text."""
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd > half * 0.2 and even < half * 0.05:
        return "utf-16-le"
    if even > half * 0.2 and odd < half * 0.05:
        return "utf-16-be"
    return None


def _decode_unmarked(data: bytes) -> str:
    """UTF-8, else whichever of lossy UTF-8 and cp1252 explains the non-ASCII bytes better."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lossy = data.decode("utf-8", errors="replace")
    broken = lossy.count("\ufffd") - data.count("\ufffd".encode())
    high = _high_bytes(data)
    # In a legacy 8-bit file nearly every non-ASCII byte is invalid UTF-8; in a UTF-8 file
    # with some damage most of them still form valid sequences.
    if broken * 2 > high:
        return data.decode("cp1252", errors="replace")
    return lossy


def _high_bytes(data: bytes) -> int:
    """Count of bytes >= 0x80, without a Python-level loop over large inputs."""
    return len(data) - len(data.translate(None, bytes(range(0x80, 0x100))))


def decode_text(data: bytes) -> str:
    """Decode an export to text with "\\n" line ends; MalformedExport for binary content.

    Handles UTF-8 with or without BOM, UTF-16/32 with BOM, UTF-16 without BOM (found by its NUL
    bytes), and falls back to cp1252 or lossy UTF-8 rather than failing on stray bytes.
    """
    for magic, label in _BINARY_MAGIC:
        if data.startswith(magic):
            raise MalformedExport(f"This file is {label}, not a chat export.")
    if data.startswith(codecs.BOM_UTF8):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        text = _decode_marked(data, "utf-32")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_marked(data, "utf-16")
    elif (encoding := _utf16_without_bom(data[:_SAMPLE])) is not None:
        text = _decode_marked(data, encoding)
    elif b"\x00" in data[:_SAMPLE]:
        raise MalformedExport("This file is binary data, not a chat export.")
    else:
        text = _decode_unmarked(data)
    sample = text[:_SAMPLE]
    controls = sum(1 for ch in sample if ch in _CONTROL_CHARS)
    replaced = sample.count("\ufffd")
    if controls > len(sample) * _MAX_CONTROL_SHARE or replaced > len(sample) * _MAX_REPLACED_SHARE:
        raise MalformedExport("This file is binary data, not a chat export.")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _decode_marked(data: bytes, encoding: str) -> str:
    """Decode UTF-16/32 text, replacing damaged code units rather than failing."""
    # The "utf-16"/"utf-32" codecs consume the BOM; the explicit -le/-be ones never see one.
    text = data.decode(encoding, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text
