"""Local sign-in codes minted by the CLI (development only): `serve` and `sign-in-link` print
them as links, `chat` redeems them itself. The code is written straight into the database the
server reads, so the CLI needs the same data dir (or JEEX_DATABASE_URL) as the server."""

from app.core.config import Settings


async def mint_sign_in_code(settings: Settings, database_url: str, *, email: str | None) -> str:
    """A new single-use code for ``email``, or for the local owner (created on first need)."""
    from app.auth import local_sign_in
    from app.core.db import create_engine, create_session_factory
    from app.users import service as user_service

    engine = create_engine(settings, database_url)
    try:
        async with create_session_factory(engine)() as session:
            if email is None:
                user_id = await local_sign_in.ensure_local_owner(session)
            else:
                user_id = (await user_service.get_user_by_email(session, email)).id
            code = await local_sign_in.mint_sign_in_code(session, settings.auth, user_id)
            await session.commit()
            return code
    finally:
        await engine.dispose()


def mint_sign_in_code_now(settings: Settings, *, email: str | None = None) -> str:
    """The same from synchronous code, reaching the data dir's database (embedded or not) and
    refusing a schema behind the code's head, as `sign-in-link` does."""
    from app.cli.common import run
    from app.core.database_setup import SchemaPolicy, prepare_database
    from app.core.infrastructure import database_endpoint

    with database_endpoint(settings) as (url, embedded):
        run(prepare_database(settings, url, embedded=embedded, schema=SchemaPolicy.REQUIRE_HEAD))
        return run(mint_sign_in_code(settings, url, email=email))
