"""plugins.zip as MWAA takes it: unzipped into $AIRFLOW_HOME/plugins, so its modules must sit at the top
of the archive. A zip of the folder itself (plugins/x.py inside) deploys as plugins/plugins/x.py, which
nothing can import under the name the configuration uses."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath


class PluginsError(ValueError):
    pass


def zip_problems(path: Path) -> list[str]:
    if not zipfile.is_zipfile(path):
        return [f"{path.name} is not a zip archive: build it with `cd plugins && zip -r ../plugins.zip .`"]
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if not name.startswith("__MACOSX/")]
    if not names:
        return [f"{path.name} is empty"]
    found = []
    unsafe = [n for n in names if PurePosixPath(n).is_absolute() or ".." in PurePosixPath(n).parts]
    if unsafe:
        found.append(f"{path.name} has paths outside the plugins folder: {', '.join(unsafe[:3])}")
    tops = {PurePosixPath(n).parts[0] for n in names}
    if tops == {"plugins"} and any(n.endswith(".py") for n in names):
        found.append(f"{path.name} holds a top-level plugins/ folder, so MWAA would deploy "
                     f"plugins/plugins/...: zip the folder's contents instead "
                     f"(`cd plugins && zip -r ../plugins.zip .`)")
    return found


def install(source_dir: Path, target: Path) -> str:
    """Put the bucket's plugins.zip (or plugins/ folder) into target; say which was used."""
    archive, folder = source_dir / "plugins.zip", source_dir / "plugins"
    if archive.exists() and folder.exists():
        raise PluginsError(f"{source_dir} has both plugins.zip and plugins/: MWAA deploys one; keep one of them")
    target.mkdir(parents=True, exist_ok=True)
    for child in target.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    if archive.exists():
        found = zip_problems(archive)
        if found:
            raise PluginsError("; ".join(found))
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(target)
        return "plugins.zip"
    if folder.exists():
        shutil.copytree(folder, target, dirs_exist_ok=True)
        return "plugins/"
    return "no plugins"
