"""Handles for hooks: what registering a hook returns, so that it can be removed again."""

from __future__ import annotations

import itertools
from typing import Any

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """What registering a hook returns (:meth:`Module.register_forward_hook`,
    :meth:`Tensor.register_hook`): ``remove()`` unregisters the hook."""

    _next_id = itertools.count()  # unique over all hooks: a handle names one hook

    def __init__(self, hooks: dict[int, Any]) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        """Unregister the hook; removing it again does nothing."""
        self._hooks.pop(self.id, None)
