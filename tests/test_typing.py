"""What a user writes type-checks against memkit's types: the README's examples, cookbook/
and the adapters, with mypy and the ``[tool.mypy]`` settings of pyproject.toml (strict for
memkit and the adapters).

mypy runs once per session over everything; each test reads its own files' errors from
that run, so a failure names what broke. mypy's cache (``.mypy_cache/test_typing``) makes
a run after a small change take a few seconds instead of about 20.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PACKAGES = ("memkit", "langchain_memkit", "llamaindex_memkit")
ADAPTERS = ("langchain_memkit", "llamaindex_memkit")
README_MODULE = "readme_examples.py"
# The test's own cache (it always asks for absolute paths), inside mypy's default one.
CACHE = ROOT / ".mypy_cache" / "test_typing"
_LOCATED = re.compile(r"^(?P<path>[^:]+):\d+(?::\d+)?: (?:error|note): ")


def readme_examples(text: str) -> str:
    """Every ```python block of the README, in order, as one module (a reader runs them in
    one session: the second block uses the first one's import). Every other line is left
    blank, so mypy's line numbers are the README's."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        fence = line.strip()
        if not inside and fence == "```python":
            inside = True
            out.append("")
        elif inside and fence == "```":
            inside = False
            out.append("")
        else:
            out.append(line if inside else "")
    assert not inside, "README.md: a ```python block is not closed"
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class MypyRun:
    status: int
    output: str
    readme: Path

    def errors_in(self, paths: Iterable[Path]) -> list[str]:
        """mypy's errors and notes about the files under ``paths``."""
        roots = [p.resolve() for p in paths]
        found: list[str] = []
        for line in self.output.splitlines():
            match = _LOCATED.match(line)
            if match is None:
                continue
            # mypy replays a cached error with the path it was first reported with: the README
            # module is known by its name (its temporary directory changes from run to run).
            where = Path(match["path"])
            if where.name == README_MODULE:
                where = self.readme
            where = (ROOT / where).resolve()
            if any(where == root or root in where.parents for root in roots):
                shown = "README.md" if where == self.readme.resolve() else where.relative_to(ROOT)
                found.append(f"{shown}{line[len(match['path']) :]}")
        return found


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    readme = tmp_path_factory.mktemp("readme") / README_MODULE
    readme.write_text(readme_examples(README.read_text(encoding="utf-8")), encoding="utf-8")
    args = ["--config-file", str(ROOT / "pyproject.toml")]
    args += ["--cache-dir", str(CACHE), "--show-absolute-path"]
    args += [str(ROOT / name) for name in (*PACKAGES, "cookbook")] + [str(readme)]
    stdout, stderr, status = api.run(args)
    output = stdout + stderr
    # 0: no errors, 1: errors found; anything else (2: bad arguments, a crash) checked nothing.
    assert status in (0, 1) and re.search(r"^(Success|Found \d+ error)", output, re.M), output
    return MypyRun(status, output, readme)


def _report(errors: list[str]) -> str:
    return "mypy reports:\n" + "\n".join(errors)


def test_readme_examples_are_extracted_with_their_line_numbers() -> None:
    text = README.read_text(encoding="utf-8")
    module = readme_examples(text)
    assert module.count("\n") == text.count("\n") + (not text.endswith("\n"))
    assert "from memkit import Memory" in module
    for number, line in enumerate(module.splitlines(), start=1):
        if line:
            assert text.splitlines()[number - 1] == line


def test_the_readme_examples_type_check(mypy_run: MypyRun) -> None:
    errors = mypy_run.errors_in([mypy_run.readme])
    assert not errors, _report(errors)


def test_the_cookbook_type_checks(mypy_run: MypyRun) -> None:
    errors = mypy_run.errors_in([ROOT / "cookbook"])
    assert not errors, _report(errors)


def test_the_adapters_type_check_strictly(mypy_run: MypyRun) -> None:
    errors = mypy_run.errors_in([ROOT / name for name in ADAPTERS])
    assert not errors, _report(errors)


def test_memkit_type_checks_strictly(mypy_run: MypyRun) -> None:
    """memkit itself, and mypy's verdict on the whole run (exit status 0)."""
    errors = mypy_run.errors_in([ROOT / "memkit"])
    assert not errors, _report(errors)
    assert mypy_run.status == 0, mypy_run.output
