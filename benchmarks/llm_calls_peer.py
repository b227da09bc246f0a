"""mem0 2.x's side of benchmarks/llm_calls.py; runs in benchmarks/.venv-peer (peer_env.sh).

Reads a job file (the server URL, a work directory, the adds to make), runs them
through ``mem0.Memory`` with its LLM and embedder pointed at the scripted
OpenAI-compatible server, and writes what is left in the store. Offline as in
/work/shared/peers/mem0-offline.md: telemetry off, state under the work directory,
and a guard that refuses (and counts) any connection that is not to loopback.

    benchmarks/.venv-peer/bin/python benchmarks/llm_calls_peer.py JOB.json OUT.json
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
from pathlib import Path

ATTEMPTS: list[str] = []
_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        ATTEMPTS.append(f"connect {address!r}")
        raise OSError(f"benchmark network guard: refused {address!r}")
    return _connect(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and not _loopback(host):
        ATTEMPTS.append(f"dns {host}")
        raise socket.gaierror(f"benchmark network guard: refused lookup of {host}")
    return _getaddrinfo(host, *args, **kwargs)


def main(job_path: str, out_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    work = Path(job["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(work / "mem0_home")
    socket.socket.connect = _guarded_connect
    socket.getaddrinfo = _guarded_getaddrinfo

    from mem0 import Memory  # after the environment is set: mem0 reads it at import
    from mem0.exceptions import MemoryError as Mem0Error

    config = {
        "llm": {
            "provider": "openai",
            "config": {
                "model": job["model"],
                "api_key": "offline",
                "openai_base_url": job["url"],
                "temperature": 0.0,
            },
        },
        "embedder": {
            "provider": "openai",
            "config": {
                "model": "text-embedding-3-small",
                "api_key": "offline",
                "openai_base_url": job["url"],
                "embedding_dims": job["dims"],
            },
        },
        "vector_store": {
            "provider": "chroma",
            "config": {"collection_name": "mem0bench", "path": str(work / "chroma")},
        },
        "history_db_path": str(work / "history.db"),
    }
    memory = Memory.from_config(config)
    errors = []
    for add in job["adds"]:
        try:
            memory.add(add["messages"], user_id=add["user_id"])
        except (Mem0Error, ValueError, OSError) as exc:  # reported in the results, not hidden
            errors.append(f"{type(exc).__name__}: {exc}")
    stored = {}
    for user_id in sorted({a["user_id"] for a in job["adds"]}):
        page = memory.get_all(filters={"user_id": user_id}, top_k=1000)
        stored[user_id] = [m["memory"] for m in page["results"]]
    Path(out_path).write_text(
        json.dumps(
            {
                "adds": len(job["adds"]),
                "errors": errors,
                "memories": stored,
                "network_attempts": ATTEMPTS,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
