import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

Password = Annotated[str, Field(min_length=8, max_length=128, description="8 to 128 characters.")]


def _normalise_email(value: str) -> str:
    return value.strip().lower()


class UserCreate(BaseModel):
    email: EmailStr
    password: Password
    display_name: str | None = Field(default=None, min_length=1, max_length=100)

    _email = field_validator("email")(_normalise_email)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "ada@example.com", "password": "correct horse", "display_name": "Ada"}
            ]
        }
    )


class UserUpdate(BaseModel):
    """Fields to change. Changing `email` or `password` needs `current_password`."""

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    email: EmailStr | None = None
    password: Password | None = None
    current_password: str | None = Field(default=None, max_length=128)

    _email = field_validator("email")(
        lambda value: _normalise_email(value) if value is not None else None
    )

    @model_validator(mode="after")
    def _needs_current_password(self) -> "UserUpdate":
        for required in ("email", "password"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null")
        sensitive = {"email", "password"} & self.model_fields_set
        if sensitive and not self.current_password:
            raise ValueError("current_password is required to change email or password")
        return self

    model_config = ConfigDict(json_schema_extra={"examples": [{"display_name": "Ada L."}]})


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str | None
    is_admin: bool
    created_at: datetime
