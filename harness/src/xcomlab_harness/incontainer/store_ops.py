"""Run inside an Airflow container (`python - '<json>' < store_ops.py`): drive one xcomlab backend class
directly, as a task would, and print one line `RESULT <json>` with each step's outcome.

The argument: {"backend": "module.Class", "env": {...settings...}, "steps": [...]}. A step is one of
  {"op": "push", "ids": {dag_id, run_id, task_id, map_index, key}, "value": v | "size": n (a string of n bytes)}
  {"op": "pull", "stored": <what push returned>, "expect_size": n (optional), "ids": {...} (optional)}
  {"op": "purge", "stored": <a row's value>, "ids": {...}}   what Airflow does when it deletes the row
  {"op": "exists", "path": p}            whether a file exists in this container
  {"op": "list", "root": url}            every object under root: {url: size}
  {"op": "corrupt", "url": u, "how": "delete" | "truncate" | "garbage"}
  {"op": "push_small", "ids": {...}, "count": n}   n values under the threshold: how many became references
  {"op": "kill_push", ...push fields..., "fraction": f}   a timed push of the same size (key + "-timing"),
      in a child process (task_id + "-timing"), then the push in another child, SIGKILLed after f x
      that time
  {"op": "redis", "conn_id": c, "command": [...]}   one Redis command (e.g. CONFIG SET maxmemory)
  {"op": "delete_all", "root": url}      remove every object under root
A step may carry "env": settings for that step only. Each outcome is {"ok": true, "elapsed_s": t, ...} or
{"ok": false, "error": <type>, "message": <text>, "elapsed_s": t}.
Standard library, Airflow and the image's xcomlab only: this file is piped into containers.
"""

import importlib
import json
import multiprocessing
import os
import signal
import sys
import time
import types

ARGS = json.loads(sys.argv[1])
os.environ.update(ARGS.get("env", {}))

from xcomlab.compat import AIRFLOW_MAJOR  # noqa: E402  (after the settings above)

module, _, name = ARGS["backend"].rpartition(".")
BACKEND = getattr(importlib.import_module(module), name)


def value_of(step):
    return "x" * step["size"] if "size" in step else step["value"]


def push(step):
    stored = BACKEND.serialize_value(value_of(step), **step["ids"])
    return {"stored": stored.decode() if isinstance(stored, bytes) else stored}


def row(step):
    """A row as the backend gets it: 2.x's column holds bytes, 3.x's the JSON value."""
    stored = step["stored"]
    return types.SimpleNamespace(value=stored.encode() if AIRFLOW_MAJOR < 3 else stored, **step.get("ids", {}))


def pull(step):
    value = BACKEND.deserialize_value(row(step))
    out = {"type": type(value).__name__}
    if "expect_size" in step:
        out["equal"] = value == "x" * step["expect_size"]
    else:
        out["value"] = value
    return out


def listing(step):
    return {"objects": {o.url: o.size for o in BACKEND.list_objects(step["root"])}}


def corrupt(step):
    url, how = step["url"], step["how"]
    if how == "delete":
        BACKEND.delete_object(url)
    elif how == "truncate":
        data = BACKEND.read_object(url)
        BACKEND.write_object(url, data[: len(data) // 2])
    else:
        BACKEND.write_object(url, b"\x00\x01 not what xcomlab wrote")
    return {}


def push_small(step):
    from xcomlab import reference

    ids = step["ids"]
    stored = [BACKEND.serialize_value({"n": n}, **dict(ids, key=f"{ids['key']}-{n}")) for n in range(step["count"])]
    values = [BACKEND.deserialize_value(types.SimpleNamespace(value=s)) for s in stored]
    refs = sum(reference.url_of(json.loads(s) if isinstance(s, bytes) else s) is not None for s in stored)
    return {"references": refs, "equal": values == [{"n": n} for n in range(step["count"])]}


def kill_push(step):
    """Time a whole push in a child, then SIGKILL another child at `fraction` of that time; a child that
    finishes first is tried again at half the fraction."""
    timing = dict(step, ids=dict(step["ids"], task_id=step["ids"]["task_id"] + "-timing"))
    fork = multiprocessing.get_context("fork")
    started = time.monotonic()
    child = fork.Process(target=push, args=(timing,))
    child.start()
    child.join()
    full = time.monotonic() - started
    fraction = step["fraction"]
    while fraction > 0.01:
        child = fork.Process(target=push, args=(step,))
        child.start()
        child.join(full * fraction)
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
            child.join()
            return {"killed_while_running": True, "full_push_s": full, "killed_after_s": full * fraction}
        fraction /= 2
    return {"killed_while_running": False, "full_push_s": full}


def purge(step):
    BACKEND.purge(row(step))
    return {}


def exists(step):
    return {"exists": os.path.exists(step["path"])}


def redis_command(step):
    from airflow.providers.redis.hooks.redis import RedisHook

    return {"answer": RedisHook(redis_conn_id=step["conn_id"]).get_conn().execute_command(*step["command"])}


def delete_all(step):
    urls = [o.url for o in BACKEND.list_objects(step["root"])]
    for url in urls:
        BACKEND.delete_object(url)
    return {"deleted": len(urls)}


OPS = {"push": push, "pull": pull, "list": listing, "corrupt": corrupt, "push_small": push_small,
       "kill_push": kill_push, "redis": redis_command, "delete_all": delete_all, "purge": purge, "exists": exists}


def run(step):
    saved = {k: os.environ.get(k) for k in step.get("env", {})}
    os.environ.update(step.get("env", {}))
    started = time.monotonic()
    try:
        return {"ok": True, **OPS[step["op"]](step), "elapsed_s": time.monotonic() - started}
    except Exception as err:  # noqa: BLE001 - the outcome is the point
        return {"ok": False, "error": type(err).__name__, "message": str(err), "elapsed_s": time.monotonic() - started}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


print("RESULT " + json.dumps([run(step) for step in ARGS["steps"]], default=str))
