"""Operator commands: `python -m src.cli make-admin EMAIL`."""

import argparse
import asyncio
import sys

from sqlalchemy import update

from src.config import get_settings
from src.database import engine, get_async_db_transaction
from src.logging import configure_logging, get_logger
from src.users.models import User

log = get_logger("chatsight.cli")


async def set_admin(email: str, *, admin: bool) -> bool:
    async with get_async_db_transaction() as session:
        result = await session.execute(
            update(User)
            .where(User.email == email.strip().lower(), User.is_deleted.is_(False))
            .values(is_admin=admin)
            .execution_options(synchronize_session=False)
        )
        changed = bool(getattr(result, "rowcount", 0))
    await engine.dispose()
    return changed


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    parser = argparse.ArgumentParser(prog="python -m src.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("make-admin", "grant admin rights"), ("revoke-admin", "revoke them")):
        command = commands.add_parser(name, help=text)
        command.add_argument("email")
    args = parser.parse_args(argv)
    changed = asyncio.run(set_admin(args.email, admin=args.command == "make-admin"))
    if not changed:
        log.error("cli.user_not_found", email=args.email)
        return 1
    log.info("cli.done", command=args.command, email=args.email)
    return 0


if __name__ == "__main__":
    sys.exit(main())
