from sqlalchemy.ext.asyncio import AsyncSession

from app.users import repository as user_repository
from app.users.exceptions import UserAlreadyExistsError, UserNotFoundError
from app.users.schemas import UserCreate, UserRead


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_user(session: AsyncSession, data: UserCreate) -> UserRead:
    email = normalise_email(data.email)
    if await user_repository.get_by_email(session, email) is not None:
        raise UserAlreadyExistsError(f"a user with email {email} already exists")
    user = await user_repository.add(session, email=email, name=data.name)
    return UserRead.model_validate(user)


async def get_user_by_email(session: AsyncSession, email: str) -> UserRead:
    user = await user_repository.get_by_email(session, normalise_email(email))
    if user is None:
        raise UserNotFoundError(f"no user with email {normalise_email(email)}")
    return UserRead.model_validate(user)
