"""One text pipeline (``memkit._text``): search, categories, the rule extractor and the
LLM reply's tidying read words the same way; and the ``>>>`` examples of those modules
run."""

from __future__ import annotations

import doctest
import importlib

import pytest

from memkit import _text as text
from memkit.extract import _categories as categories
from memkit.extract import _fact_shape as extract_rules
from memkit.extract import _patterns as fact_patterns
from memkit.extract import _reply as llm_prompt
from memkit.extract._categories import DEFAULT_CATEGORIES, Categorizer
from memkit.extract._interface import ExistingMemory, Message
from memkit.extract._prompt import PromptInput, alias_table, sources_of
from memkit.extract._reply import parse_reply
from memkit.search import _bm25 as keywords

DOCUMENTED = [
    "memkit._text",
    "memkit.search._bm25",
    "memkit.extract._categories",
    "memkit.extract._patterns",
    "memkit.extract._rules",
    "memkit.extract._prompt",
    "memkit.extract._reply",
]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_the_examples_in_docstrings_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0


def test_every_reader_shares_one_stop_list_one_stemmer_and_one_tokenizer():
    assert keywords.STOPWORDS is text.STOPWORDS
    assert categories.STOPWORDS is text.STOPWORDS
    assert fact_patterns.STOPWORDS is text.STOPWORDS
    for module in (categories, extract_rules, fact_patterns):
        assert module.stem is text.stem
        assert module.word_set is text.word_set
    for module in (categories, extract_rules, llm_prompt):
        assert module.words is text.words
    for module in (extract_rules, fact_patterns, llm_prompt):
        assert module.content_words is text.content_words
    assert keywords.TOKENIZER_VERSION is text.TOKENIZER_VERSION


def test_search_and_the_categoriser_stem_running_and_runs_alike():
    assert keywords.tokenize("running") == keywords.tokenize("runs") == [text.stem("run")]
    assert text.content_words("running") == text.content_words("runs")
    jogging = Categorizer({"jogging": "Goes for runs"})
    assert jogging.categorize("Went running") == ("jogging",)
    assert jogging.categorize("Runs every morning") == ("jogging",)


def test_search_drops_negations_and_the_extractor_keeps_them():
    assert text.NEGATIONS <= text.STOPWORDS
    assert keywords.tokenize("Doesn't eat meat") == ["eat", "meat"]
    assert text.content_words("Doesn't eat meat") == {"not", "eat", "meat"}
    assert text.content_words("Does not eat meat") == text.content_words("Doesn’t eat meat")


def test_words_spell_out_contractions_and_keep_compounds_whole():
    assert text.words("I don’t eat non-vegetarian food") == [
        "i",
        "do",
        "not",
        "eat",
        "non-vegetarian",
        "food",
    ]
    assert text.words("Can't, won't, I'd") == ["can", "not", "will", "not", "i", "d"]
    assert text.terms("A well-known café in May") == ["well", "known", "café", "may"]


def test_a_word_whose_stem_a_common_word_shares_categorises_by_the_word_itself():
    # Snowball: "positive" and "position" are both "posit", "busy" and "business" "busi".
    tagger = Categorizer(DEFAULT_CATEGORIES)
    assert "professional_details" not in tagger.categorize("Is staying positive")
    assert "professional_details" not in tagger.categorize("Has been busy lately")
    assert "professional_details" in tagger.categorize("Runs a small business")
    assert "professional_details" in tagger.categorize("Got a new position at the bank")


def test_a_negation_alone_is_not_a_preference():
    tagger = Categorizer(DEFAULT_CATEGORIES)
    assert tagger.categorize("Won't give up") == ("misc",)
    assert tagger.categorize("Does not like sushi") == ("food_preferences",)


def test_the_llm_replys_tidying_reads_words_like_the_extractor():
    messages = [Message(role="user", content="I still don't like sushi")]
    shown = alias_table({"user": [ExistingMemory(id="m-sushi", text="Does not like sushi")]})
    prompt = PromptInput(messages, ["user"], sources_of(messages, ["user"]), shown)
    answer = (
        '{"memories": [{"event": "ADD", "source": 1, "text": "Doesn’t like sushi", '
        '"target": null, "categories": []}], "forget": [], "erase_all": []}'
    )
    (op,) = parse_reply(answer, prompt).operations
    assert (op.event, op.target_id) == ("NONE", "m-sushi")
