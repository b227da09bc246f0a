"""The writer that ``test_kill`` SIGKILLs: it prints each write once it is acknowledged.

Usage: ``python reliability_kill_child.py STORE MODE TOKEN``. MODE is ``add`` (single adds),
``batch`` (batch_update of all 1,000 memories of user ``b``) or ``delete_all`` (an add of 50
memories for user ``d``, then ``delete_all(user_id="d")``). Lines:

    READY                       the store is open (any repair on open is done)
    ADD <id> <text>             one add acknowledged
    POP <n>                     the 1,000 memories of a batch store were added (one add)
    BATCH <token>               a batch_update that wrote "<token> <i>" to every memory
    ADDED <token>               the 50 memories "<token> <i>" of user d were added
    DELETED <token>             delete_all(user_id="d") acknowledged after ADDED <token>
"""

from __future__ import annotations

import sys

from memkit import Memory
from memkit.testing import HashEmbedder

BATCH = 1000
CHUNK = 50


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(path: str, mode: str, token: str) -> None:
    memory = Memory(path=path, embedder=HashEmbedder())
    say("READY")
    if mode == "add":
        for i in range(100_000):
            text = f"fact {token} {i}"
            (event,) = memory.add(text, user_id="u", infer=False).results
            say(f"ADD {event.id} {text}")
    elif mode == "batch":
        ids = sorted(r.id for r in memory.get_all(user_id="b", page_size=BATCH).results)
        if not ids:
            texts = [f"fact pop {i}" for i in range(BATCH)]
            ids = sorted(e.id for e in memory.add(texts, user_id="b", infer=False).results)
            say(f"POP {len(ids)}")
        for g in range(100_000):
            stamp = f"{token}-{g}"
            memory.batch_update(
                [{"memory_id": i, "text": f"fact {stamp} {n}"} for n, i in enumerate(ids)]
            )
            say(f"BATCH {stamp}")
    elif mode == "delete_all":
        if memory.get_all(user_id="keep").count == 0:
            memory.add([f"fact keep {i}" for i in range(20)], user_id="keep", infer=False)
            say("KEEP")
        for g in range(100_000):
            stamp = f"{token}-{g}"
            memory.add([f"fact {stamp} {i}" for i in range(CHUNK)], user_id="d", infer=False)
            say(f"ADDED {stamp}")
            memory.delete_all(user_id="d")
            say(f"DELETED {stamp}")
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
