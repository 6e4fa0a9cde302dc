"""Fix-forward: the mechanical fixes of xcomlab_harness.fixes, applied to a copy of the user's backend source.

A failure can hide the next one: every push fails on Airflow 3's keyword `serialize_value` signature, so nothing
says what the backend does with a value. When a failure matches a fix that is a mechanical edit, the check applies
it to a copy of BACKEND_SRC, runs the scenarios again, and finally shows the user one unified diff to `git apply`.

The edits are minimal and found with ast, but made in the text: the user's formatting, comments and quotes stay
as they are, so the diff holds the fix and nothing else. Source that does not parse, or an edit whose result
would not, is left as it is. Every patcher is idempotent: patched text has nothing left to patch.
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import os
import re
import shutil
from pathlib import Path

from xcomlab_harness.stack.python_ast import parse_python

PATCHABLE = frozenset({"keyword-signature", "removed-option", "pandas-read-json"})

_NEWLINE = re.compile(r"\r\n|\r|\n")  # the line ends ast counts
_MISSING_OPTION = re.compile(r"\[([\w.]+)/([\w.-]+)\] not found")  # AirflowConfigException's section/key
_CONF_GETTERS = frozenset({"get", "getboolean", "getint", "getfloat", "getlist", "getjson", "getimport"})
_SKIP = ("__pycache__", ".git", ".venv", "*.pyc", "*.egg-info")
_SKIP_TOP = ("build", "dist")  # build artefacts beside a pyproject.toml; a subpackage may be named so
Edit = tuple[int, str]  # insert the text at this index of the source


class _Source:
    """The text, and where ast's positions are in it: ast counts columns in UTF-8 bytes, a str in characters."""

    def __init__(self, text: str):
        self.text = text
        self.lines = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    def at(self, line: int, col: int) -> int:
        start = self.lines[line - 1]
        return start + len(self.text[start:start + col].encode()[:col].decode(errors="ignore"))

    def start(self, node: ast.AST) -> int:
        return self.at(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.at(node.end_lineno, node.end_col_offset)

    def append(self, items: list[ast.AST], ends: list[ast.AST], item: str, opening: int = 0) -> Edit:
        """Add item as the last element of a parenthesised list (parameters, arguments) of these items, which end
        with the last of ends (a default after its parameter); no items: the list opens at `opening`. Between the
        last element and `)` there can only be commas, `/`, whitespace and comments."""
        text = self.text
        first = self.start(max(items, key=lambda n: (n.lineno, n.col_offset))) if items else None
        i = last = max(self.end(n) for n in ends) if items else text.index("(", opening) + 1
        sig = None
        while text[i] != ")":
            if text[i] == "#":
                i = _NEWLINE.search(text, i).start()  # a comment runs to its line's end, `)` or not
                continue
            if not text[i].isspace() and text[i] != "\\":
                sig = i  # the last `,` or `/`
            i += 1
        at = last if sig is None else sig + 1
        if first is None:
            return at, item
        if sig is None or text[sig] != ",":
            return at, ", " + item  # on the last element's line
        # a trailing comma: one element per line gets one more line, the same way; else it goes after the comma
        indent = text[max(text.rfind("\n", 0, first), text.rfind("\r", 0, first)) + 1:first].rstrip("*")
        newline = _NEWLINE.search(text, sig)
        if not indent.strip() and newline.start() < i:
            return newline.end(), f"{indent}{item},{newline.group()}"
        return at, " " + item


def _keyword_signature(tree: ast.Module, src: _Source, evidence: str) -> list[Edit]:
    """`**kwargs` for a serialize_value that takes neither `key` nor `**`: Airflow 3 passes key=, task_id=, ...;
    Airflow 2's shim passes only the parameters the method names, so both call it."""
    edits = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for fn in cls.body:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name != "serialize_value":
                continue
            a = fn.args
            if a.kwarg or "key" in {p.arg for p in a.args + a.kwonlyargs}:
                continue
            params = a.posonlyargs + a.args + ([a.vararg] if a.vararg else []) + a.kwonlyargs
            name = "kwargs"
            while name in {p.arg for p in params}:
                name = "_" + name
            ends = params + [d for d in a.defaults + a.kw_defaults if d]
            edits.append(src.append(params, ends, "**" + name, opening=src.start(fn)))
    return edits


def _removed_option(tree: ast.Module, src: _Source, evidence: str) -> list[Edit]:
    """A fallback for each conf.get*(section, option) of the option Airflow says it does not have."""
    if not (m := _MISSING_OPTION.search(evidence)):
        return []
    wanted = [m[1].lower(), m[2].lower()]
    edits = []
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in _CONF_GETTERS and len(call.args) >= 2):
            continue
        if any(k.arg in ("fallback", None) for k in call.keywords):  # `**options` may hold a fallback already
            continue
        if [a.value.lower() if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                for a in call.args[:2]] != wanted:
            continue
        items = call.args + call.keywords
        edits.append(src.append(items, items, "fallback=False" if call.func.attr == "getboolean" else "fallback=None"))
    return edits


def _name(node: ast.AST | None) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _as_given(arg: ast.AST) -> bool:
    """read_json's first argument needs no wrapping: a buffer already, or a literal that is not JSON (a path, a
    URL, an f-string starting like one: pandas reads those as paths on purpose)."""
    if isinstance(arg, ast.Starred) or isinstance(arg, ast.Call) and _name(arg.func) in ("StringIO", "BytesIO"):
        return True
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        arg = arg.values[0]
    return isinstance(arg, ast.Constant) and not (isinstance(arg.value, str) and arg.value.lstrip()[:1] in ("{", "["))


def _read_json(tree: ast.Module, src: _Source, evidence: str) -> list[Edit]:
    """pandas 3 opens a str given to read_json as a path: hand it the text in an io.StringIO."""
    edits = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and _name(call.func) == "read_json" and call.args and not _as_given(call.args[0]):
            edits += [(src.start(call.args[0]), "io.StringIO("), (src.end(call.args[0]), ")")]
    if edits and not any(isinstance(s, ast.Import) and any(a.name == "io" and a.asname in (None, "io") for a in s.names)
                         for s in tree.body):
        edits.append(_import_io(tree, src))
    return edits


def _import_io(tree: ast.Module, src: _Source) -> Edit:
    """`import io` before the first import, after the docstring and `from __future__`; with no import, after them."""
    body, newline = tree.body, (m.group() if (m := _NEWLINE.search(src.text)) else "\n")
    lead = [s for s in body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
    if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0].value, "value", None), str):
        lead.insert(0, body[0])  # the docstring
    first = next((s for s in body if isinstance(s, (ast.Import, ast.ImportFrom)) and s not in lead), None)
    if first is None and not lead:
        first = body[0].decorator_list[0] if getattr(body[0], "decorator_list", None) else body[0]
    line = first.lineno - 1 if first else lead[-1].end_lineno  # index of the line to insert before
    if line == len(src.lines):  # after the last line, which has no newline
        return len(src.text), newline + "import io" + newline
    return src.lines[line], "import io" + newline


_PATCHERS = {"keyword-signature": _keyword_signature, "removed-option": _removed_option,
             "pandas-read-json": _read_json}


def patch_text(text: str, fix_id: str, evidence: str) -> str:
    """The module source with that fix applied; the same text when it does not apply (or the result would not parse)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""  # ast refuses a BOM in a str; the file keeps it
    body = text[len(bom):]
    try:
        edits = _PATCHERS[fix_id](parse_python(body), _Source(body), evidence) if fix_id in _PATCHERS else []
    except (SyntaxError, ValueError, RecursionError):
        return text
    if not edits:
        return text
    for at, insert in sorted(edits, key=lambda e: e[0], reverse=True):  # from the end: earlier indexes hold
        body = body[:at] + insert + body[at:]
    try:
        parse_python(body)
    except (SyntaxError, ValueError, RecursionError):
        return text
    return bom + body


def _skipped(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in _SKIP)


def copy_source(src: Path, dest: Path) -> Path:
    """Copy BACKEND_SRC (a .py file or a folder) into the folder dest (created; emptied first if it exists); return
    the copy's path (dest/<src.name>). Skip __pycache__, .git, .venv, *.pyc, build/dist/*.egg-info."""
    src, dest = Path(os.path.abspath(src)), Path(dest)  # the name as given (a symlink's, not its target's)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copy = dest / src.name
    if src.is_file():
        shutil.copy2(src, copy)
        return copy

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == src
        return {n for n in names if _skipped(n) or top and n in _SKIP_TOP
                or (Path(folder) / n).resolve() == dest.resolve()}  # dest inside src: not into itself

    shutil.copytree(src, copy, ignore=ignore)
    return copy


def _modules(root: Path) -> dict[str, Path]:
    """The .py files of a file or folder, by their posix path relative to the folder (a file: its name)."""
    if root.is_file():
        return {root.name: root}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.py"))
            if p.is_file() and not any(_skipped(part) for part in p.relative_to(root).parts)}


def apply(copy: Path, fixes: list[tuple[str, str]]) -> list[str]:
    """Apply each (fix_id, evidence) to every .py file of the copy (a file or a folder, recursively); return the
    relative paths of the files changed (sorted, posix)."""
    changed = []
    for rel, path in _modules(Path(copy)).items():
        try:
            text = path.read_bytes().decode("utf-8")  # bytes: \r\n stays \r\n
        except UnicodeDecodeError:
            continue
        patched = text
        for fix_id, evidence in fixes:
            patched = patch_text(patched, fix_id, evidence)
        if patched != text:
            path.write_bytes(patched.encode("utf-8"))
            changed.append(rel)
    return sorted(changed)


def _lines(path: Path) -> list[str]:
    """Lines as git counts them: split at \\n only, each keeping its end (the last may have none)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", path.read_bytes().decode("utf-8", errors="replace"))


def unified_diff(original: Path, patched: Path) -> str:
    """One unified diff of every .py file that differs between the user's BACKEND_SRC (file or folder) and the
    patched copy, with paths a/<rel> and b/<rel> relative to the folder (a file's: its parent), so that `git apply`
    or `patch -p1` run there applies it. "" when nothing differs."""
    original, patched = Path(original), Path(patched)
    before = _modules(original)
    after = {original.name: patched} if original.is_file() else _modules(patched)  # a file: the user's name
    out = []
    for rel, path in after.items():
        if rel not in before or before[rel].read_bytes() == path.read_bytes():
            continue
        for line in difflib.unified_diff(_lines(before[rel]), _lines(path), f"a/{rel}", f"b/{rel}"):
            # a last line without its newline: the marker git and patch expect after it
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
