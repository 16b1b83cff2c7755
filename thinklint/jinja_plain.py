"""The environment vetted templates render in (`thinklint.jinja`), with two shortcuts of jinja's runtime.

A chat template spends most of a render on two jinja helpers: `Environment.getattr`, behind every
``message.role``, and `Context.call`, behind every ``content.split(...)``. Both do general work whose
outcome is known in advance for the values a template sees (plain JSON types, see `jinja._plain`):

- ``message.role`` on a dict first tries the attribute, which raises AttributeError (costly), then
  the key. A dict instance has no attributes but its class's (dict and object: no ``__dict__``, no
  ``__getattr__``), so for any other name the attribute lookup fails and the key is what jinja returns.
- A bound str method carries no ``jinja_pass_arg`` marker (nor does its ``__call__``) and never raises
  StopIteration, so jinja's call reduces to dropping its bookkeeping keywords and calling it.

Everything else goes to jinja's own code. Renders are identical; tests compare them with a stock
jinja environment's.
"""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2.runtime import Context

#: the attributes a plain dict instance has: its class's and object's
_DICT_ATTRIBUTES = frozenset(name for cls in dict.__mro__ for name in vars(cls))
_BUILTIN_METHOD = type("".split)


class PlainContext(Context):
    def call(self, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if type(obj) is _BUILTIN_METHOD and type(getattr(obj, "__self__", None)) is str:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            return obj(*args, **kwargs)
        return Context.call(self, obj, *args, **kwargs)


class PlainEnvironment(jinja2.Environment):
    context_class = PlainContext

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)
