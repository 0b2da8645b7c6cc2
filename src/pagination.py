"""Cursor (keyset) pagination: `?limit=` (1-100) and `?cursor=`, answering
`{items, next_cursor}`. A cursor is the opaque, URL-safe encoding of the last row's sort key."""

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from src import reads
from src.exceptions import InvalidInputError

T = TypeVar("T")

MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100).")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


Pagination = Annotated[PageParams, Depends(page_params)]


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInputError("The cursor is not valid", details={"cursor": cursor}) from exc
    if not isinstance(values, list) or len(values) != size:
        raise InvalidInputError("The cursor is not valid", details={"cursor": cursor})
    return values


async def keyset_page(
    session: AsyncSession,
    statement: Select[Any],
    key: list[InstrumentedAttribute[Any]],
    params: PageParams,
    *,
    convert: list[Any] | None = None,
    descending: bool = True,
) -> tuple[list[Any], str | None]:
    """Rows of `statement` ordered by `key` (descending: newest first; or ascending), after
    the cursor.

    `key` must be unique per row (end it with the primary key); `convert` turns each decoded
    cursor value back into its column's Python type."""
    statement = _after_cursor(statement, key, params, convert, descending)
    return _cut(list((await session.scalars(statement)).all()), key, params.limit)


async def keyset_rows(
    statement: Select[Any],
    key: list[InstrumentedAttribute[Any]],
    params: PageParams,
    *,
    convert: list[Any] | None = None,
    descending: bool = True,
) -> tuple[list[Row[Any]], str | None]:
    """`keyset_page` for a select of columns, run as one statement with no transaction
    (`src.reads`): the rows have the selected columns as attributes."""
    statement = _after_cursor(statement, key, params, convert, descending)
    return _cut(await reads.fetch_all(statement), key, params.limit)


def _after_cursor(
    statement: Select[Any],
    key: list[InstrumentedAttribute[Any]],
    params: PageParams,
    convert: list[Any] | None,
    descending: bool,
) -> Select[Any]:
    if params.cursor is not None:
        values = decode_cursor(params.cursor, len(key))
        if convert is not None:
            try:
                values = [to_type(value) for to_type, value in zip(convert, values, strict=True)]
            except (ValueError, TypeError) as exc:
                raise InvalidInputError("The cursor is not valid") from exc
        after = tuple_(*key) < tuple_(*values) if descending else tuple_(*key) > tuple_(*values)
        statement = statement.where(after)
    order = [column.desc() if descending else column.asc() for column in key]
    return statement.order_by(*order).limit(params.limit + 1)


def _cut(
    rows: list[T], key: list[InstrumentedAttribute[Any]], limit: int
) -> tuple[list[T], str | None]:
    """The page (at most `limit` rows of the `limit + 1` read) and the cursor after it."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([getattr(rows[-1], column.key) for column in key])
