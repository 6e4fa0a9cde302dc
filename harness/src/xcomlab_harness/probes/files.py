"""Files inside a running container, seen with `docker compose exec` and find/head/rm: no Airflow involved."""

from __future__ import annotations

from xcomlab_harness.probes import Item, Meta
from xcomlab_harness.stack.compose import compose


class FilesProbe:
    def __init__(self, compose_env: dict[str, str], service: str, roots: tuple[str, ...], prune: tuple[str, ...] = (),
                 store: str | None = None):
        self.env, self.service, self.roots, self.prune = compose_env, service, roots, prune
        self.store = store or f"container://{service}"
        self.name = self.store

    def _exec(self, *command: str) -> bytes:
        done = compose(self.env, "exec", "-T", self.service, *command, check=False, capture_output=True)
        if done.returncode not in (0, 1):  # find exits 1 when a root is missing: nothing there is fine
            raise RuntimeError(f"{self.service}: `{' '.join(command)}` failed: {done.stderr.decode().strip()[-300:]}")
        return done.stdout

    def snapshot(self) -> dict[Item, Meta]:
        return self.list(self.store, roots=self.roots)

    def list(self, store: str, prefix: str = "", roots: tuple[str, ...] | None = None) -> dict[Item, Meta]:
        """Files under each root (or under the first root + prefix)."""
        roots = roots or (f"{self.roots[0]}/{prefix}",)
        pruned = []
        for path in self.prune:
            pruned += ["-path", path, "-o"] if path.startswith("/") else ["-name", path, "-o"]
        expression = ["(", *pruned[:-1], ")", "-prune", "-o"] if pruned else []
        listing = self._exec("find", *roots, *expression, "-type", "f", "-printf", r"%p\t%s\t%T@\n")
        found = {}
        for line in listing.decode(errors="backslashreplace").splitlines():
            path, size, mtime = line.rsplit("\t", 2)
            found[Item(self.store, path)] = Meta(int(size), mtime)
        return found

    def read(self, item: Item, limit: int | None = None) -> bytes:
        return self._exec("head", "-c", str(limit), item.key) if limit else self._exec("cat", item.key)

    def delete(self, item: Item) -> None:
        self._exec("rm", "-f", item.key)

    get = read
