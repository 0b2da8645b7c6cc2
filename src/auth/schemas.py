from pydantic import BaseModel, Field


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid for.")
    refresh_token: str = Field(
        description="Trade it at POST /auth/refresh for a new pair; each works once."
    )


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)
