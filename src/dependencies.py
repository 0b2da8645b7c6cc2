"""Dependencies every router shares, whatever its domain."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from src.database import get_db

#: The request's session (one unit of work, committed once after the endpoint succeeds).
#: `scope="function"`: it is closed when the endpoint returns, before the response is sent.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]
