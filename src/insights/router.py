import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from src.auth.dependencies import CurrentUser, DbSession, owned
from src.chats.models import Chat
from src.chats.repository import ChatRepository
from src.error_responses import responses
from src.insights import service as insights_service
from src.insights.schemas import InsightCreate, InsightRead

router = APIRouter(tags=["insights"], responses=responses(401))

OwnedChat = Annotated[Chat, Depends(owned(ChatRepository, param="chat_id", resource="Chat"))]


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


@router.get("/chats/{chat_id}/insights", response_model=list[InsightRead], responses=responses(404))
async def list_insights(chat: OwnedChat, session: DbSession) -> list[InsightRead]:
    """Every insight requested for this chat, with its status and result."""
    return await insights_service.list_for_chat(session, chat)


@router.get("/insights/{insight_id}", response_model=InsightRead, responses=responses(404))
async def read_insight(insight_id: uuid.UUID, user: CurrentUser, session: DbSession) -> InsightRead:
    """One insight: its status, and its result once completed."""
    return await insights_service.get_insight(session, user.id, insight_id)
