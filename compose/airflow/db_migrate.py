"""airflow-init: migrate the metadata DB unless it already is at this image's schema head; on Airflow 2.x
also create the UI admin (FAB keeps users in the DB; Airflow 3's SimpleAuthManager reads a file).

Compose re-runs this one-shot on every `up`, and `airflow db migrate` imports all of Airflow (~4 s) even
when there is nothing to do; comparing alembic revisions first keeps `make up` and backend switches quick.
Usage: db_migrate.py record-head (at image build) | db_migrate.py (in the container)
"""

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

HEAD_FILE = Path("/opt/xcom-lab/alembic-head")


def record_head() -> None:
    import airflow
    from alembic.script import ScriptDirectory

    migrations = Path(airflow.__file__).parent / "migrations"
    HEAD_FILE.write_text(ScriptDirectory(str(migrations)).get_current_head() + "\n")


def current_revision() -> str | None:
    import metadata_db

    with metadata_db.connect(timeout=10) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not cur.fetchone()[0]:
            return None  # a new database
        cur.execute("SELECT version_num FROM alembic_version")
        row = cur.fetchone()
    return row[0] if row else None


def fab_user_exists(username: str) -> bool:
    import metadata_db

    with metadata_db.connect(timeout=10) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM ab_user WHERE username = %s", (username,))
        return cur.fetchone()[0] > 0


def create_fab_admin() -> None:
    user = os.environ["ADMIN_USER"]
    if fab_user_exists(user):
        return
    subprocess.run(
        ["airflow", "users", "create", "--role", "Admin", "--username", user,
         "--password", os.environ["ADMIN_PASSWORD"], "--email", f"{user}@xcom-lab.invalid",
         "--firstname", user, "--lastname", "xcom-lab"],
        check=True,
    )


def main() -> None:
    head = HEAD_FILE.read_text().strip()
    if current_revision() == head:
        print(f"metadata DB is at schema head {head}: nothing to migrate", flush=True)
    else:
        subprocess.run(["airflow", "db", "migrate"], check=True)
    if version("apache-airflow").startswith("2."):
        create_fab_admin()


if __name__ == "__main__":
    record_head() if sys.argv[1:] == ["record-head"] else main()
