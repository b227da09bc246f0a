"""Every docstring example in the adapters runs: each one is a doctest, run here offline.

A doctest per docstring gets its own ``MEMKIT_HOME`` (the autouse fixture), so each
example opens a fresh default store. A literal block (``::``) or a bare code line in a
docstring would be an example that never runs, so none is allowed.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import llama_index.core
import pytest

import langchain_memkit
import llamaindex_memkit
from memkit import AsyncMemory, Memory

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def adapter_modules() -> list[ModuleType]:
    names = ["memkit.adapter_driver", "memkit.adapter_messages"]
    for package in (langchain_memkit, llamaindex_memkit):
        names.append(package.__name__)
        names += [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    return [importlib.import_module(name) for name in sorted(names)]


MODULES = adapter_modules()
DOCTESTS = [
    test
    for module in MODULES
    for test in doctest.DocTestFinder(exclude_empty=True).find(module)
    if test.examples
]


@pytest.mark.parametrize("test", DOCTESTS, ids=lambda t: t.name)
def test_docstring_example(test: doctest.DocTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # use_offline_tokenizer's example sets LlamaIndex's global tokenizer: restore it after.
    monkeypatch.setattr(llama_index.core, "global_tokenizer", llama_index.core.global_tokenizer)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    try:
        runner.run(test, clear_globs=False)
    finally:
        for value in test.globs.values():
            if isinstance(value, Memory):
                value.close()
            elif isinstance(value, AsyncMemory):
                value.sync.close()
        test.globs.clear()
    assert runner.failures == 0, f"{test.name}: {runner.failures} example(s) failed (see output)"


def docstrings(module: ModuleType) -> list[tuple[str, str]]:
    found = [(module.__name__, inspect.getdoc(module) or "")]
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(value):
            found.append((f"{module.__name__}.{name}", inspect.getdoc(value) or ""))
            for attr, member in vars(value).items():
                func = getattr(member, "__func__", member)
                if inspect.isfunction(func) and func.__doc__:
                    found.append(
                        (f"{module.__name__}.{name}.{attr}", inspect.cleandoc(func.__doc__))
                    )
        elif inspect.isfunction(value) and value.__doc__:
            found.append((f"{module.__name__}.{name}", inspect.cleandoc(value.__doc__)))
    return found


# A code line outside a doctest: a literal block, an import, an await, or a call statement.
_BARE_CODE = re.compile(r"::\s*$|^\s*(from \S+ import |import \S|await |\w+(\.\w+)* = \w)")


def test_no_example_is_left_that_never_runs() -> None:
    bare = [
        f"{where}: {line.strip()}"
        for module in MODULES
        for where, doc in docstrings(module)
        for line in doc.splitlines()
        if _BARE_CODE.search(line) and not line.lstrip().startswith((">>>", "..."))
    ]
    assert bare == []


def test_there_are_examples_to_run() -> None:
    tested = {t.name.split(".")[1] for t in DOCTESTS if t.name.count(".") >= 1}
    assert {"memory", "middleware", "retriever", "store", "memory_block"} <= tested
