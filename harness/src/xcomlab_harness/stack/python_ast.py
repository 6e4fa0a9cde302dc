"""ast.parse for a harness that parses in threads (mwaa-placement runs beside the other scenarios).

CPython 3.11 keeps the AST constructor's recursion depth in interpreter-wide state: when one thread switches to
another in the middle of building a tree (a garbage collection running a finalizer is enough), the other's parse
resets it, and one of them fails with "SystemError: AST constructor recursion depth mismatch". One lock for
every parse the harness makes.
"""

from __future__ import annotations

import ast
import threading

_ONE_AT_A_TIME = threading.Lock()


def parse_python(text: str) -> ast.Module:
    with _ONE_AT_A_TIME:
        return ast.parse(text)
