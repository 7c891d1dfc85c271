"""fastapi-users' full example (examples/sqlalchemy of fastapi-users 15), the reference of the
differential test (tests/users_differential.rs). Changes to the example, each to match what
examples/users serves:

- a cookie backend next to the JWT one (CookieTransport "fastapiusersauth", max age 3600, over a
  DatabaseStrategy on SQLAlchemy access tokens);
- a `full_name` of the app's own on the user;
- `validate_password` with auth-core's default policy (NIST SP 800-63B: 8 to 1024 characters,
  not the email), as fastapi-users' docs suggest overriding it;
- the hooks append verify and reset tokens to $TOKENS_FILE (one JSON object a line), where the
  test reads them, instead of printing them;
- settings from the environment: DATABASE_URL (default sqlite+aiosqlite:///./test.db), SECRET.

    python -m uvicorn fastapi_app:app --host 127.0.0.1 --port 8004
    python fastapi_app.py create-superuser <email> <password>
"""

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi_users import (
    BaseUserManager,
    FastAPIUsers,
    InvalidPasswordException,
    UUIDIDMixin,
    models,
    schemas,
)
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    CookieTransport,
    JWTStrategy,
)
from fastapi_users.authentication.strategy.db import AccessTokenDatabase, DatabaseStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users_db_sqlalchemy.access_token import (
    SQLAlchemyAccessTokenDatabase,
    SQLAlchemyBaseAccessTokenTableUUID,
)
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./test.db")
SECRET = os.environ.get("SECRET", "SECRET")
TOKENS_FILE = os.environ.get("TOKENS_FILE")


# --- db.py -------------------------------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    full_name: Mapped[str | None] = mapped_column(String(length=1024), nullable=True)


class AccessToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
    pass


engine = create_async_engine(DATABASE_URL)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def create_db_and_tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyUserDatabase(session, User)


async def get_access_token_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyAccessTokenDatabase(session, AccessToken)


# --- schemas.py --------------------------------------------------------------------------------
class UserRead(schemas.BaseUser[uuid.UUID]):
    full_name: str | None = None


class UserCreate(schemas.BaseUserCreate):
    full_name: str | None = None


class UserUpdate(schemas.BaseUserUpdate):
    full_name: str | None = None


# --- users.py ----------------------------------------------------------------------------------
def record_token(kind: str, user: User, token: str):
    if TOKENS_FILE:
        with open(TOKENS_FILE, "a") as f:
            f.write(json.dumps({"kind": kind, "email": user.email, "token": token}) + "\n")


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    async def validate_password(self, password: str, user) -> None:
        if len(password) < 8:
            raise InvalidPasswordException(reason="Password should be at least 8 characters")
        if len(password) > 1024:
            raise InvalidPasswordException(reason="Password should be at most 1024 characters")
        email = user.email.lower()
        lowered = password.lower()
        local = email.rsplit("@", 1)[0]
        if email and (email in lowered or lowered == local):
            raise InvalidPasswordException(reason="Password should not contain e-mail")

    async def on_after_register(self, user: User, request: Request | None = None):
        print(f"User {user.id} has registered.")

    async def on_after_forgot_password(self, user: User, token: str, request: Request | None = None):
        record_token("reset", user, token)

    async def on_after_request_verify(self, user: User, token: str, request: Request | None = None):
        record_token("verify", user, token)


async def get_user_manager(user_db: SQLAlchemyUserDatabase = Depends(get_user_db)):
    yield UserManager(user_db)


bearer_transport = BearerTransport(tokenUrl="auth/jwt/login")


def get_jwt_strategy() -> JWTStrategy[models.UP, models.ID]:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend(name="jwt", transport=bearer_transport, get_strategy=get_jwt_strategy)

cookie_transport = CookieTransport(cookie_name="fastapiusersauth", cookie_max_age=3600)


def get_database_strategy(
    access_token_db: AccessTokenDatabase[AccessToken] = Depends(get_access_token_db),
) -> DatabaseStrategy:
    return DatabaseStrategy(access_token_db, lifetime_seconds=3600)


cookie_backend = AuthenticationBackend(name="cookie", transport=cookie_transport, get_strategy=get_database_strategy)

fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend, cookie_backend])

current_active_user = fastapi_users.current_user(active=True)


# --- app.py ------------------------------------------------------------------------------------
@asynccontextmanager
async def lifespan(app: FastAPI):
    await create_db_and_tables()
    yield


app = FastAPI(lifespan=lifespan)

app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"])
app.include_router(fastapi_users.get_auth_router(cookie_backend), prefix="/auth/cookie", tags=["auth"])
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_reset_password_router(), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_verify_router(UserRead), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"])


@app.get("/authenticated-route")
async def authenticated_route(user: User = Depends(current_active_user)):
    return {"message": f"Hello {user.email}!"}


# --- the first superuser -----------------------------------------------------------------------
async def create_superuser(email: str, password: str):
    await create_db_and_tables()
    async with async_session_maker() as session:
        manager = UserManager(SQLAlchemyUserDatabase(session, User))
        user = await manager.create(
            UserCreate(email=email, password=password, is_superuser=True, is_verified=True), safe=False
        )
        print(f"Created superuser {user.id} <{user.email}>")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "create-superuser":
        asyncio.run(create_superuser(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
