from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from src.auth import security
from src.auth import service as auth_service
from src.auth.dependencies import CurrentUser
from src.auth.schemas import RefreshRequest, Token
from src.config import get_settings
from src.dependencies import DbSession
from src.error_responses import responses
from src.ratelimit import client_address, enforce
from src.users import service as users_service
from src.users.models import User
from src.users.schemas import UserCreate, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=responses(409, 422, 429),
)
async def register(request: Request, data: UserCreate, session: DbSession) -> UserRead:
    """Create an account with an email and a password (8-128 characters).

    The email is case-insensitive. 409 `email_taken` when a live account already uses it.
    429 past `AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS` sign-ins and registrations from one
    address.
    """
    await _limit_address(request)
    user = await users_service.register(session, data)
    return UserRead.model_validate(user)


async def _limit_address(request: Request) -> None:
    limit = get_settings().auth_attempts_per_minute_per_address
    await enforce(f"auth:address:{client_address(request)}", limit=limit)


@router.post("/token", response_model=Token, responses=responses(401, 422, 429))
async def token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: DbSession
) -> Token:
    """Exchange email (`username` field) and password for a bearer access token.

    Send it as `Authorization: Bearer <access_token>`; it expires after `expires_in` seconds
    (`ACCESS_TOKEN_MINUTES`, 15). Then trade `refresh_token` at `POST /auth/refresh`.
    401 `invalid_credentials` for a wrong email or password. 429 past
    `AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS` attempts from one address or
    `AUTH_ATTEMPTS_PER_MINUTE_PER_ACCOUNT` on one email, before any password is checked.
    """
    await _limit_address(request)
    account = form.username.strip().casefold()
    await enforce(
        f"auth:account:{account}", limit=get_settings().auth_attempts_per_minute_per_account
    )
    user = await users_service.authenticate(session, form.username, form.password)
    return _pair(user, await auth_service.issue(session, user))


def _pair(user: User, refresh_secret: str) -> Token:
    return Token(
        access_token=security.create_access_token(user.id, user.token_generation),
        expires_in=get_settings().access_token_minutes * 60,
        refresh_token=refresh_secret,
    )


@router.post("/refresh", response_model=Token, responses=responses(401, 422, 429))
async def refresh(request: Request, data: RefreshRequest) -> Token:
    """Trade a refresh token for a new access token and a new refresh token. Each refresh
    token works once: presenting a used one again revokes every token of its sign-in (it was
    copied), and so does a password change or logout-all. 401 `not_authenticated` then."""
    await _limit_address(request)
    user, secret = await auth_service.rotate(data.refresh_token)
    return _pair(user, secret)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=responses(422, 429, 503))
async def logout(request: Request, data: RefreshRequest) -> Response:
    """Sign out of this one sign-in: all its refresh tokens stop working (`POST /auth/refresh`
    answers 401). The account's other sign-ins go on.

    No access token is needed (it may have expired already). Access tokens already issued
    stay valid until they expire (`expires_in`; they are stateless), so forget them too;
    `POST /auth/logout-all` ends every token at once. Any refresh token answers 204: an
    unknown, expired or already signed-out one changes nothing. 429 past
    `AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS` requests from one address, counted with
    registration, sign-in and refresh.
    """
    await _limit_address(request)
    await auth_service.sign_out(data.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401, 503))
async def logout_all(user: CurrentUser) -> Response:
    """Sign out everywhere: every token issued to this account so far, this one included,
    stops working at once. Sign in again for a new one. A password change does the same."""
    await users_service.end_all_tokens(user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
