from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from src.auth import security
from src.auth.dependencies import DbSession
from src.auth.schemas import Token
from src.config import get_settings
from src.error_responses import responses
from src.users import service as users_service
from src.users.schemas import UserCreate, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=responses(409, 422),
)
async def register(data: UserCreate, session: DbSession) -> UserRead:
    """Create an account with an email and a password (8-128 characters).

    The email is case-insensitive. 409 `email_taken` when a live account already uses it.
    """
    user = await users_service.register(session, data)
    return UserRead.model_validate(user)


@router.post("/token", response_model=Token, responses=responses(401, 422))
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: DbSession) -> Token:
    """Exchange email (`username` field) and password for a bearer access token.

    Send it as `Authorization: Bearer <access_token>`; it expires after `expires_in` seconds.
    401 `invalid_credentials` for a wrong email or password.
    """
    user = await users_service.authenticate(session, form.username, form.password)
    return Token(
        access_token=security.create_access_token(user.id),
        expires_in=get_settings().access_token_minutes * 60,
    )
