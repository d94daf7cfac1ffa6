"""POST /auth/login, /auth/refresh, /auth/logout and the JWKS document."""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import Field

from amss.api.rest.bodies import json_response, read_json
from amss.api.rest.context import CLIENT_IP, user_agent_of
from amss.api.rest.middlewares import TOKEN_SERVICE
from amss.api.rest.rate_limits import record_login_failure
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Email, Out
from amss.api.rest.services import SERVICES
from amss.app.identity import ClientInfo, TokenPair
from amss.domain.errors import Unauthorized


class LoginBody(Body):
    email: Email
    password: str = Field(min_length=1, max_length=1024)
    org_id: uuid.UUID | None = None


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenPairOut(Out):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


def _client(request: web.Request) -> ClientInfo:
    return ClientInfo(ip_address=request.get(CLIENT_IP), user_agent=user_agent_of(request))


def _tokens(pair: TokenPair) -> web.Response:
    return json_response(TokenPairOut.model_validate(pair), headers={"Cache-Control": "no-store"})


async def login(request: web.Request) -> web.Response:
    body = await read_json(request, LoginBody)
    try:
        pair = await request.app[SERVICES].identity.login(body.email, body.password, body.org_id, _client(request))
    except Unauthorized:
        # the per-e-mail limit counts failures only: it turns this 401 into a 429 past the limit and
        # never refuses the right password (the per-address limit, in the middleware, applies to every try)
        await record_login_failure(request, body.email)
        raise
    return _tokens(pair)


async def refresh(request: web.Request) -> web.Response:
    body = await read_json(request, RefreshBody)
    return _tokens(await request.app[SERVICES].identity.refresh(body.refresh_token, _client(request)))


async def logout(request: web.Request) -> web.Response:
    body = await read_json(request, RefreshBody)
    await request.app[SERVICES].identity.logout(body.refresh_token)
    return web.Response(status=204)


async def jwks(request: web.Request) -> web.Response:
    return json_response(request.app[TOKEN_SERVICE].jwks(), headers={"Cache-Control": "public, max-age=300"})


ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/auth/login",
        login,
        "auth.login",
        "Log in with e-mail and password",
        None,
        "auth",
        request_model=LoginBody,
        response_model=TokenPairOut,
        tag="auth",
    ),
    RouteSpec(
        "POST",
        "/api/v1/auth/refresh",
        refresh,
        "auth.refresh",
        "Exchange a refresh token for a new pair",
        None,
        "auth",
        request_model=RefreshBody,
        response_model=TokenPairOut,
        tag="auth",
    ),
    RouteSpec(
        "POST",
        "/api/v1/auth/logout",
        logout,
        "auth.logout",
        "Revoke a refresh token's whole family",
        None,
        "auth",
        request_model=RefreshBody,
        status=204,
        tag="auth",
    ),
    RouteSpec(
        "GET",
        "/.well-known/jwks.json",
        jwks,
        "auth.jwks",
        "Public keys that verify access tokens",
        None,
        None,
        tag="auth",
    ),
]
