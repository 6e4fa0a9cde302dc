"""The backend's own code as `make check` ran it: per scenario, which of its lines ran in any Airflow process
(stack.backend_coverage collects them), mapped back to the files the user keeps, and the source with what
never ran, for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from xcomlab_harness.stack import backend_coverage
from xcomlab_harness.stack.custom_backend import MWAA_PLUGINS, PLUGINS, custom_backend_source
from xcomlab_harness.verdict import ScenarioResult, SourceFile


class OwnCode:
    def __init__(self, settings: Mapping[str, str]):
        self.settings = settings
        self.measured = bool(settings.get("XCOM_BACKEND"))
        self.source = custom_backend_source(settings)
        if self.source and settings.get("MWAA") == "1":  # it runs from where MWAA's entrypoint deploys plugins/
            src, target = self.source
            self.source = (src, MWAA_PLUGINS + target.removeprefix(PLUGINS))
        self.run: dict[Path, set[int]] = {}

    def record(self, result: ScenarioResult) -> None:
        """The lines the scenario's processes ran, on the result (and toward the total)."""
        if not self.measured:
            return
        found: dict[Path, set[int]] = {}
        try:
            measured = backend_coverage.harvest(result.id or "scenario")
        except OSError:  # the data folder in a state no scenario should pay for: this one is "not measured"
            return
        for container_path, lines in measured.items():
            path = self.host_path(container_path)
            if path is not None:
                found.setdefault(path, set()).update(lines)
        for path, lines in found.items():
            self.run.setdefault(path, set()).update(lines)
        result.lines_run = {self.label(path): sorted(lines) for path, lines in sorted(found.items())}

    def files(self) -> list[Path]:
        """Every Python file of the backend: the module, or each file of its package (imported or not)."""
        roots = [root for root in [self.package_root()] if root is not None]
        found = {path for root in roots for path in ([root] if root.is_file() else root.rglob("*.py"))}
        return sorted(found | set(self.run))

    def sources(self) -> list[SourceFile]:
        if not self.measured:
            return []
        return [SourceFile(self.label(path), path.read_text(errors="replace").splitlines(),
                           sorted(statements(path)), sorted(self.run.get(path, ())))
                for path in self.files() if path.exists()]

    def package_root(self) -> Path | None:
        """The host file or folder of the module XCOM_BACKEND names."""
        module = backend_coverage.module_of(self.settings.get("XCOM_BACKEND", ""))
        src = Path(self.settings.get("BACKEND_SRC") or ".").expanduser().resolve()
        if not self.settings.get("BACKEND_SRC"):
            return None
        if src.is_file():
            return src
        for base in (src / "src", src, src.parent):
            for candidate in (base / module, base / f"{module}.py"):
                if candidate.exists() and (candidate.is_file() or (candidate / "__init__.py").exists()):
                    return candidate
        return None

    def label(self, path: Path) -> str:
        src = Path(self.settings.get("BACKEND_SRC") or ".").expanduser().resolve()
        base = src.parent if src.is_file() else src
        try:
            return str(path.relative_to(base))
        except ValueError:
            return path.name

    def host_path(self, container_path: str) -> Path | None:
        """Where the user keeps the file the components ran: BACKEND_SRC's mount, or an installed package's
        source folder (src/<package> or <package>) in BACKEND_SRC."""
        if self.source is not None:
            src, target = self.source
            if src.is_file():
                return src if container_path == target else None
            prefix = target.rstrip("/") + "/"
            return src / container_path[len(prefix):] if container_path.startswith(prefix) else None
        if "/site-packages/" not in container_path:
            return None
        rest = container_path.split("/site-packages/", 1)[1]
        root = self.package_root()
        return root.parent / rest if root is not None and (root.parent / rest).exists() else None


def statements(path: Path) -> set[int]:
    """The executable lines of a file, as coverage.py counts them (none when this Python cannot parse it,
    e.g. 3.12 syntax read by a 3.11 host: the report then shows the lines that ran, unmarked otherwise)."""
    from coverage import Coverage
    from coverage.exceptions import CoverageException

    try:
        _, found, _, _, _ = Coverage(data_file=None, config_file=False).analysis2(str(path))
    except (CoverageException, SyntaxError, OSError):
        return set()
    return set(found)
