from fastapi import APIRouter, Response, status

from src.auth.dependencies import CurrentUser, CurrentUserRow
from src.error_responses import responses
from src.users import service as users_service
from src.users.schemas import UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], responses=responses(401))


@router.get("/me", response_model=UserRead)
async def read_me(user: CurrentUserRow) -> UserRead:
    """The signed-in account."""
    return UserRead.model_validate(user)


@router.patch("/me", response_model=UserRead, responses=responses(409, 422, 503))
async def update_me(data: UserUpdate, user: CurrentUser) -> UserRead:
    """Change the display name, email or password.

    Changing `email` or `password` requires `current_password` (401 when it is wrong);
    409 `email_taken` when another live account uses the new email.
    """
    user = await users_service.update(user, data)
    return UserRead.model_validate(user)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=responses(503))
async def delete_me(user: CurrentUser) -> Response:
    """Delete the account (soft delete). Every token of it stops working at once; the email
    can be registered again. Data is purged for good after the retention period."""
    await users_service.soft_delete(user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
