"""fastapi-users 15 social login, as its docs set it up (SQLAlchemy with an OAuthAccount table,
httpx-oauth's OpenID client, the cookie backend): the other side of the social login
differential in tests/social_login.rs. Run with uvicorn; configured by the environment:

  DATABASE_URL         sqlite+aiosqlite:///<file>
  SECRET               the JWT and state secret
  OAUTH_ISSUER         the provider (tests/oidc/idp.mjs), discovered at start
  OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET
  PUBLIC_URL           this app's base URL: the redirect URL is {PUBLIC_URL}/auth/oidc/callback
  ASSOCIATE_BY_EMAIL   "1" to link by e-mail
  IS_VERIFIED_BY_DEFAULT  "1" for verified new users
"""

import os
import uuid
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, CookieTransport, JWTStrategy
from fastapi_users_db_sqlalchemy import (
    SQLAlchemyBaseOAuthAccountTableUUID,
    SQLAlchemyBaseUserTableUUID,
    SQLAlchemyUserDatabase,
)
from httpx_oauth.clients.openid import OpenID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

SECRET = os.environ["SECRET"]
PUBLIC_URL = os.environ["PUBLIC_URL"].rstrip("/")


class Base(DeclarativeBase):
    pass


class OAuthAccount(SQLAlchemyBaseOAuthAccountTableUUID, Base):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    oauth_accounts: Mapped[list[OAuthAccount]] = relationship("OAuthAccount", lazy="joined")


engine = create_async_engine(os.environ["DATABASE_URL"])
session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def get_async_session():
    async with session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyUserDatabase(session, User, OAuthAccount)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(user_db=Depends(get_user_db)):
    yield UserManager(user_db)


def get_jwt_strategy() -> JWTStrategy:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend(
    name="cookie",
    transport=CookieTransport(cookie_name="fastapiusersauth", cookie_max_age=3600),
    get_strategy=get_jwt_strategy,
)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


oidc = OpenID(
    os.environ["OAUTH_CLIENT_ID"],
    os.environ["OAUTH_CLIENT_SECRET"],
    f"{os.environ['OAUTH_ISSUER']}/.well-known/openid-configuration",
    name="oidc",
)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(
    fastapi_users.get_oauth_router(
        oidc,
        auth_backend,
        SECRET,
        redirect_url=f"{PUBLIC_URL}/auth/oidc/callback",
        associate_by_email=os.environ.get("ASSOCIATE_BY_EMAIL") == "1",
        is_verified_by_default=os.environ.get("IS_VERIFIED_BY_DEFAULT") == "1",
    ),
    prefix="/auth/oidc",
)
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth")
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users")
