import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import Row

from src.auth.dependencies import CurrentUser, owned_row
from src.chats.models import Chat
from src.dependencies import DbSession
from src.error_responses import responses
from src.insights import service as insights_service
from src.insights.schemas import InsightCreate, InsightPage, InsightRead
from src.pagination import Pagination

router = APIRouter(tags=["insights"], responses=responses(401))

OwnedChatRow = Annotated[Row[Any], Depends(owned_row(Chat, param="chat_id", resource="Chat"))]


@router.post(
    "/chats/{chat_id}/insights",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=InsightRead,
    responses=responses(402, 404, 409, 422, 503),
)
async def request_insight(
    chat_id: uuid.UUID,
    data: InsightCreate,
    user: CurrentUser,
    regenerate: Annotated[
        bool, Query(description="Run it again (and pay again) even if it exists")
    ] = False,
) -> InsightRead:
    """Ask for an insight about a chat; it is generated in the background. Poll
    `GET /insights/{id}` until `completed` (or `failed`: the credits are refunded).

    Costs the insight type's `credit_cost` (402 `insufficient_credits` when short). Asking
    again for one that is pending, running or completed returns it with no new charge;
    `?regenerate=true` runs a new generation and charges again (409 while one is running).
    """
    return await insights_service.request_insight(
        user.id, chat_id, data.insight_type, regenerate=regenerate
    )


@router.get("/chats/{chat_id}/insights", response_model=InsightPage, responses=responses(404, 422))
async def list_insights(chat: OwnedChatRow, page: Pagination) -> InsightPage:
    """The insights requested for this chat, with their status and result, in the
    catalogue's order, a page at a time (`next_cursor` back as `cursor`)."""
    return await insights_service.page_for_chat(chat.id, page)


@router.get("/insights/{insight_id}", response_model=InsightRead, responses=responses(404))
async def read_insight(insight_id: uuid.UUID, user: CurrentUser, session: DbSession) -> InsightRead:
    """One insight: its status, and its result once completed."""
    return await insights_service.get_insight(session, user.id, insight_id)
