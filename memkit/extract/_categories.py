"""Memory categories: the default list, config validation and an offline categoriser.

The hosted platform tags every memory with categories from a project list; memkit
ships the same fifteen defaults (the food one named ``food_preferences``, as the
platform's own filter examples spell it) and a keyword categoriser so tagging
works with no model. It reads text with ``memkit._text``, the pipeline search and
the rule extractor use too, so a category keyword matches the words a search for
it would.

    >>> Categorizer(DEFAULT_CATEGORIES).categorize("Is allergic to nuts")
    ('food_preferences', 'health')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from memkit._text import STOPWORDS, stem, stems, word_set, words
from memkit.errors import ConfigError

__all__ = [
    "DEFAULT_CATEGORIES",
    "Categorizer",
    "Embed",
    "normalize_categories",
]

DEFAULT_CATEGORIES: dict[str, str] = {
    "personal_details": "Name, age, birthday, where the person lives or comes from, languages",
    "family": "Family members and relationships: partner, children, parents, siblings",
    "professional_details": "Job, employer, role, career, education and work projects",
    "sports": "Sports played or followed, teams, fitness activities",
    "travel": "Trips, destinations, flights, holidays and travel plans",
    "food_preferences": "Food likes and dislikes, diet, cuisines, dietary restrictions",
    "music": "Music tastes, artists, instruments, concerts",
    "health": "Health conditions, allergies, medication, wellbeing",
    "technology": "Devices, software, programming and other technology",
    "hobbies": "Hobbies and pastimes",
    "fashion": "Clothing, style and fashion preferences",
    "entertainment": "Movies, TV shows, books, games and other entertainment",
    "milestones": "Important life events and achievements",
    "user_preferences": "General preferences and settings not covered elsewhere",
    "misc": "Anything that fits no other category",
}


# Keyword lexicon for the default categories (surface words; stemmed at start-up).
# Multi-word entries match as consecutive stems. An entry marked "=" matches that word
# only: Snowball gives it the stem of a common word of another meaning ("position" and
# "positive" are both "posit", "business" and "busy" "busi"), measured on LoCoMo's turns.
_LEXICON: dict[str, str] = {
    "personal_details": """=personal name named age years-old birthday born live living home address
        hometown =nationality citizen pronoun language speak called""",
    "family": """family wife husband spouse partner son daughter kid child children baby
        mother mom mum father dad parent brother sister sibling grandma grandmother grandpa
        grandfather grandparent aunt uncle cousin niece nephew fiance fiancee girlfriend
        boyfriend twin in-law married""",
    "professional_details": """job work career company employer office colleague coworker
        boss =manager =managers engineer =developer =developers programmer =designer
        =designers teacher tutor doctor nurse lawyer =accountant =accountants consultant
        founder startup salary intern internship profession occupation =business =businesses
        client project role =position hired interview freelance freelancer employed
        unemployed student university college school degree major study research scientist
        analyst researcher ceo cto""",
    "sports": """sport football soccer basketball baseball tennis golf cricket rugby hockey
        volleyball swim swimming marathon cycling gym workout ski skiing snowboard surf
        surfing climbing boxing karate martial-arts athlete =fitness jog jogging badminton
        league olympics nba nfl premier-league""",
    "travel": """travel traveling travelling trip journey vacation holiday flight fly
        country countries abroad
        flying airport hotel visit visiting tour tourist abroad passport visa itinerary
        destination backpacking cruise sightseeing road-trip""",
    "food_preferences": """food eat eating cuisine dish meal cook cooking recipe cilantro
        coriander basil garlic onion mushroom mushrooms tomato avocado olive spinach lettuce
        potato carrot broccoli mango banana apple strawberry berries oat oats yogurt butter
        milk honey sugar sweet sweets candy cake cookie ice-cream soup sandwich noodles
        dumpling dumplings ramen kimchi falafel hummus curry latte espresso cappuccino
        restaurant diet vegetarian vegan pescatarian keto gluten lactose dairy meat chicken
        beef pork fish seafood sushi pizza pasta burger steak salad dessert chocolate coffee
        tea wine beer spicy breakfast lunch dinner snack fruit vegetable nut peanut cheese
        bread rice noodle ramen curry taco bacon lamb egg shellfish tofu bake baking
        non-vegetarian non-veg""",
    "music": """music song sing singer singing band concert album guitar piano drum violin
        playlist spotify genre jazz rock hip-hop rap =classical opera musician melody""",
    "health": """health healthy allergy allergic intolerant intolerance celiac sick illness
        ibuprofen paracetamol aspirin sertraline antibiotic antibiotics antidepressant
        insulin inhaler vitamin vitamins supplement physiotherapist physio physiotherapy
        bad-back back-pain knee-injury flu fever covid cough
        disease diabetes diabetic asthma medication medicine pill injury pain surgery
        therapy therapist anxiety depression stress sleep insomnia diagnosis diagnosed
        pregnant pregnancy migraine headache symptom vaccine dentist hospital appointment
        checkup blood-pressure cholesterol wellbeing mental-health""",
    "technology": """technology tech computer laptop phone smartphone iphone android
        software app programming code coding python javascript ai machine-learning
        gadget internet website linux windows macbook tablet robot crypto blockchain
        cloud""",
    "hobbies": """hobby hiking hike painting paint drawing reading novel gardening pottery
        ceramics crochet sewing woodworking origami calligraphy birdwatching scrapbooking
        garden photography camera knitting craft chess puzzle board-game camping
        collecting writing blogging dance dancing fishing cooking baking""",
    "fashion": """fashion clothes clothing dress shirt shoe sneaker jeans jacket style
        outfit wear wearing jewelry accessory handbag makeup cosmetic hairstyle""",
    "entertainment": """movie film cinema tv show series netflix episode actor actress
        =celebrity =celebrities theater theatre comedy =anime manga documentary video-game gaming
        podcast youtube streaming watch watching gamer""",
    "milestones": """graduate graduated graduation promoted promotion wedding engaged
        engagement anniversary retired retirement milestone achievement award
        accomplishment celebrate first-time =important""",
    "user_preferences": """prefer preference favorite favourite like love enjoy dislike
        hate setting""",
}

# Topics users name in custom categories and instructions that the defaults lack; a
# category or instruction topic of one of these names (or an alias) gets the lexicon.
_LEXICON.update(
    {
        "pets": """pet pets dog dogs puppy cat cats kitten vet veterinarian goldfish fish
            hamster parrot bird rabbit bunny horse pony guinea-pig turtle tortoise lizard
            leash litter aquarium kennel""",
        "vehicles": """car cars vehicle drive drives driving driver tesla toyota honda bmw
            audi ford volkswagen vw mercedes porsche volvo nissan hyundai kia subaru mazda
            jeep chevrolet suv truck van motorbike motorcycle scooter garage mechanic
            license licence mileage electric-car ev""",
        "finance": """money bank banking account savings save saving budget invest investing
            investment stock stocks shares crypto bitcoin mortgage loan debt credit card
            salary income tax taxes pension retirement-fund insurance rent expense spending""",
        "education": """school university college degree course class classes exam exams
            study studying student teacher professor homework thesis phd master bachelor
            graduate semester lecture tutor""",
        "home": """home house apartment flat rent landlord roommate garden kitchen bedroom
            furniture neighbour neighbor move moving mortgage""",
        "politics": """politics political election vote voting party government president
            senator congress parliament policy democrat republican liberal conservative""",
        "religion": """religion religious church mosque temple synagogue faith pray prayer
            god bible quran christian muslim jewish hindu buddhist""",
        "security": """password passwords pin pins passcode code codes combination login
            username credential credentials security secret""",
        "shopping": """shop shopping buy bought purchase order store mall amazon delivery
            sale discount""",
    }
)

# Other names for a default category, so a list such as mem0's ["food", "sports"]
# still gets the built-in lexicon.
_ALIASES: dict[str, str] = {
    "pet": "pets",
    "animals": "pets",
    "car": "vehicles",
    "cars": "vehicles",
    "vehicle": "vehicles",
    "driving": "vehicles",
    "money": "finance",
    "finances": "finance",
    "financial": "finance",
    "banking": "finance",
    "housing": "home",
    "political": "politics",
    "passwords": "security",
    "pins": "security",
    "codes": "security",
    "credentials": "security",
    "school": "education",
    "diet": "food_preferences",
    "dietary": "food_preferences",
    "payment": "finance",
    "payments": "finance",
    "billing": "finance",
    "fitness": "sports",
    "medical": "health",
    "wellness": "health",
    "job": "professional_details",
    "career": "professional_details",
    "food": "food_preferences",
    "personal": "personal_details",
    "professional": "professional_details",
    "work": "professional_details",
    "sport": "sports",
    "hobby": "hobbies",
    "preferences": "user_preferences",
}

_TRAVEL_PLACE = re.compile(
    r"\b(?:going|heading|flying|travell?ing|off|headed)\s+(?:back\s+)?to\s+[A-Z]"
)
_AGE = re.compile(r"\b(?:\d{1,3} years? old|age is \d|is \d{1,3}$|turned \d{1,3}\b)")

# Words too generic to identify a custom category from its name or description.
_GENERIC = word_set(
    """detail details info information related relating thing things stuff other misc general
    any anything everything category categories memory memories data about like such
    including include includes e g etc preference preferences likes dislikes person people
    played followed"""
)


def normalize_categories(
    value: Sequence[str | Mapping[str, str]] | Mapping[str, str] | None,
) -> dict[str, str]:
    """Validate a ``categories`` config entry and return ``{name: description}``.

    Accepts None (the defaults), a list of names, a ``{name: description}`` dict,
    or mem0's list of one-entry dicts (``[{"travel": "Trips"}]``), so a mem0
    config moves over unchanged. Names are stripped and lowercased.
    """
    if value is None:
        return dict(DEFAULT_CATEGORIES)
    pairs: list[tuple[object, object]]  # checked below: a caller's config is not trusted
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = [pair for entry in value for pair in _list_entry(entry)]
    else:
        raise ConfigError(
            f"categories: expected a list of names or a dict of name -> description, "
            f"got {type(value).__name__}"
        )
    out: dict[str, str] = {}
    for name, description in pairs:
        key = _check_name(name)
        if not isinstance(description, str):
            raise ConfigError(f"categories[{key!r}]: description must be a string")
        if key in out:
            raise ConfigError(f"categories: {key!r} is listed twice")
        out[key] = description.strip()
    return out


def _list_entry(entry: object) -> list[tuple[object, object]]:
    if isinstance(entry, Mapping):
        if len(entry) != 1:
            raise ConfigError(f"categories: a dict entry must have one name, got {entry!r}")
        return list(entry.items())
    return [(entry, "")]


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"categories: {name!r} is not a non-empty string")
    if ":" in name:
        raise ConfigError(f"categories: {name!r} must not contain ':'")
    return name.strip().lower()


def _stem_phrases(text: str) -> list[tuple[str, ...]]:
    return [
        (entry,) if entry.startswith("=") else tuple(stems(re.split(r"[-_]", entry)))
        for entry in text.split()
    ]


Embed = Callable[[Sequence[str]], np.ndarray]

# Similarity fallback: a fact takes the closest category label when it is at least this
# close and clearly closer than the next one (all-MiniLM-L6-v2 cosine; measured on the
# golden corpus's custom-category scripts, tests/golden).
_SIMILARITY_MIN = 0.30
_SIMILARITY_MARGIN = 0.05
_WEAK = frozenset({"misc", "user_preferences"})


class Categorizer:
    """Tags a fact with the configured categories whose keywords it mentions.

    Default categories use a built-in lexicon; every category also matches the
    words of its own name and description, and a category named after a known topic
    ("pets", "cars", "fitness") gets that topic's lexicon, so custom categories work
    without a model. With ``embed`` (the store's embedder), a fact no keyword places
    goes to the category whose name and description it is clearly closest to.
    ``misc`` is the fallback only when it is configured.

        >>> Categorizer({"pets": "", "cars": ""}).categorize("Has a dog")
        ('pets',)
    """

    def __init__(self, categories: Mapping[str, str], embed: Embed | None = None) -> None:
        self.categories: dict[str, str] = dict(categories)
        self._phrases: dict[str, list[tuple[str, ...]]] = {
            name: self._phrases_for(name, description)
            for name, description in self.categories.items()
        }
        self._embed = embed
        self._labels: np.ndarray | None = None

    @staticmethod
    def _phrases_for(name: str, description: str) -> list[tuple[str, ...]]:
        lexicon = _lexicon(name)
        phrases = _stem_phrases(lexicon)
        exact = {entry for entry in lexicon.split() if entry.startswith("=")}
        own = [w for w in words(f"{name.replace('_', ' ')} {description}") if _distinctive(w)]
        if len(words(name)) == 1 and name not in _LEXICON:  # a one-word name is its own keyword
            own.extend(words(name))
        phrases.extend((f"={w}",) if f"={w}" in exact else (stem(w),) for w in own)
        return list(dict.fromkeys(phrases))

    def categorize(self, text: str) -> tuple[str, ...]:
        """The configured categories ``text`` belongs to, in configuration order."""
        parts = [part for w in words(text) for part in _parts(w)]
        read = stems(parts)
        exact = {f"={part}" for part in parts}
        found = [name for name, phrases in self._phrases.items() if _mentions(read, exact, phrases)]
        found.extend(self._by_pattern(text, found))
        if not set(found) - _WEAK:
            found.extend(self._by_similarity(text))
        if "user_preferences" in found and len(found) > 1:
            found.remove("user_preferences")  # only when no topic category fits
        if not found and "misc" in self.categories:
            found.append("misc")
        return tuple(name for name in self.categories if name in found)

    def _by_similarity(self, text: str) -> list[str]:
        names = [n for n in self.categories if n not in _WEAK]
        if self._embed is None or not names:
            return []
        if self._labels is None:
            labels = [f"{n.replace('_', ' ')} {self.categories[n]}".strip() for n in names]
            self._labels = np.asarray(self._embed(labels))
        scores = self._labels @ np.asarray(self._embed([text]))[0]
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        second = float(scores[order[1]]) if len(order) > 1 else -1.0
        if best >= _SIMILARITY_MIN and best - second >= _SIMILARITY_MARGIN:
            return [names[int(order[0])]]
        return []

    def _by_pattern(self, text: str, found: Iterable[str]) -> list[str]:
        extra = []
        have = set(found)
        if "travel" not in have and _TRAVEL_PLACE.search(text) and "travel" in self.categories:
            extra.append("travel")
        if (
            "personal_details" not in have
            and "personal_details" in self.categories
            and _AGE.search(text.lower())
        ):
            extra.append("personal_details")
        return extra


def _lexicon(name: str) -> str:
    """The built-in keywords for a category or topic name: its own lexicon, an alias's, or
    those of the default categories its words name ("fitness and wellbeing")."""
    builtin = _ALIASES.get(name, name)
    if builtin in _LEXICON:
        return _LEXICON[builtin]
    named = words(name.replace("_", " "))
    read = set(stems(named)) | {f"={w}" for w in named}
    topics = [
        key
        for key, lexicon in _LEXICON.items()
        if key not in _WEAK and read & {p[0] for p in _stem_phrases(lexicon) if len(p) == 1}
    ]
    return " ".join(_LEXICON[key] for key in topics)


def _distinctive(word: str) -> bool:
    return word not in STOPWORDS and word not in _GENERIC and len(word) > 2


def _parts(word: str) -> list[str]:
    """A hyphenated word and its parts: "vegetarian-friendly" also reads as "vegetarian"."""
    return [word, *re.split(r"[-_]", word)] if "-" in word or "_" in word else [word]


def _mentions(seen: Sequence[str], exact: set[str], phrases: Iterable[tuple[str, ...]]) -> bool:
    """Whether the stems ``seen`` (or, for an "=" entry, the words ``exact``) hold a phrase."""
    joined = exact.union(seen)
    for phrase in phrases:
        if len(phrase) == 1:
            if phrase[0] in joined:
                return True
        elif _has_run(seen, phrase):
            return True
    return False


def _has_run(seen: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(seen[i : i + n]) == phrase for i in range(len(seen) - n + 1))
