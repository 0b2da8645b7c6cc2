"""Migrations on an empty database: up, all the way down, up again, and in step with the
models (autogenerate finds nothing to add)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config

from alembic import command
from scripts.dbadmin import drop_database, recreate_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database() -> Iterator[str]:
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/chatsight_migrations_test"
    recreate_database(url)
    yield url
    drop_database(url)


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.downgrade(config, "base")  # a downgrade that left a table behind fails the next up
    command.upgrade(config, "head")
    command.check(config)  # raises if the models hold anything the migrations do not
