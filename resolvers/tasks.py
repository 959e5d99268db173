"""Async resolvers run as tasks the request tracks, so no coroutine is ever left un-awaited.

graphql-core calls a field's resolver, then completes its siblings; when a sibling raises before the object is
finished (a non-null field's error travelling up), the awaitables already made are dropped. A bare coroutine
dropped so warns "coroutine ... was never awaited" (an error under ``filterwarnings=error``); a task does not:
the request cancels what is still running once its answer is ready (``Context.cancel_leftovers``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def in_task(resolver: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Wrap an ``async def`` resolver (which takes ``info``) into one that starts it as a tracked task at once."""

    @functools.wraps(resolver)
    def start(*args: P.args, **kwargs: P.kwargs) -> T:
        info = kwargs["info"]
        task = asyncio.ensure_future(resolver(*args, **kwargs))
        info.context.track(task)  # type: ignore[attr-defined]  # info arrives in **kwargs, not typed as Info here
        return task  # type: ignore[return-value]  # graphql-core awaits it: the GraphQL shape is T

    return start
