"""README's "An offline agent in 20 lines" runs as written, so the README cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## An offline agent in 20 lines"


def offline_agent_code() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section holds exactly one example"
    return blocks[0]


def test_the_offline_agent_is_at_most_20_lines() -> None:
    assert len(offline_agent_code().splitlines()) <= 20


def test_the_offline_agent_runs_and_recalls_across_threads(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    namespace: dict[str, object] = {"__name__": "readme_offline_agent"}
    exec(compile(offline_agent_code(), str(README), "exec"), namespace)
    answer, *hits = capsys.readouterr().out.splitlines()
    assert answer.startswith("What I remember:") and "Lives in Paris" in answer
    assert [line.split(" ", 1)[1] for line in hits] == ["Loves green tea", "Lives in Paris"]
    assert all(0.0 <= float(line.split(" ", 1)[0]) <= 1.0 for line in hits)
    namespace["memory"].close()  # type: ignore[attr-defined]


def test_the_section_names_every_cookbook_file_and_the_fake_models() -> None:
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    cookbook = README.parent / "cookbook"
    for path in sorted(cookbook.glob("*.py")):
        assert f"cookbook/{path.name}" in section
    assert "langchain_memkit.testing" in section and "llamaindex_memkit.testing" in section
    assert "`score`" in section
