from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Slug = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class InsightTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    description: str
    credit_cost: int
    provider: Literal["local", "openai"]
    is_active: bool


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    description: str
    is_active: bool
    insight_types: list[InsightTypeRead]


class CategoryCreate(BaseModel):
    slug: str = Slug
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    position: int = 0


class CategoryUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    position: int | None = None
    is_active: bool | None = None


class InsightTypeCreate(BaseModel):
    category: str = Field(description="The category's slug")
    slug: str = Slug
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    credit_cost: int = Field(ge=0, le=10_000)
    provider: Literal["local", "openai"] = "local"
    position: int = 0


class InsightTypeUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    credit_cost: int | None = Field(default=None, ge=0, le=10_000)
    provider: Literal["local", "openai"] | None = None
    position: int | None = None
    is_active: bool | None = None
