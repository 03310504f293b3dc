"""Request dependencies: the app's shared objects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from runtime.session import SessionManager


def get_manager(request: Request) -> SessionManager:
    return request.app.state.manager


Manager = Annotated[SessionManager, Depends(get_manager)]
