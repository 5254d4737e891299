"""Small text helpers for the story writer: cleaning, casing, topic phrases, descriptions."""

from __future__ import annotations

import re

from sora_app.pipeline.story_data import (
    LEADING_WORDS,
    NOT_NOUNS,
    ONES,
    SMALL_WORDS,
    STOPWORDS,
    TENS,
)  # fmt: skip

_ASCII = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
    | {"\u2026": "...", "{": "", "}": ""}
)


def clean(text: str) -> str:
    """Keep output plain ASCII punctuation and free of template braces."""
    return " ".join(text.translate(_ASCII).split())


def title_case(text: str) -> str:
    """Capitalize words for titles and captions while keeping small words and acronyms."""
    words = text.split()
    out = []
    for i, word in enumerate(words):
        small = i > 0 and word.lower() in SMALL_WORDS
        out.append(word.lower() if small else word[:1].upper() + word[1:])
    return " ".join(out)


def subject(topic: str) -> str:
    """A short phrase for the topic that reads naturally in the middle of a sentence."""
    text = topic.strip().rstrip(".!?")
    words = text.split()
    if len(words) > 6:
        words = re.split(r"[:,;(]| - ", text)[0].split()[:6]
        while len(words) > 1 and words[-1].lower() in STOPWORDS:
            words.pop()
    if words and words[0].lower() in LEADING_WORDS:
        words[0] = words[0].lower()
    return " ".join(words)


def _number_words(n: int) -> str:
    """Spell ages the way a narrator would say them."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else "-" + ONES[n % 10])
    rest = n % 100
    return ONES[n // 100] + " hundred" + (f" and {_number_words(rest)}" if rest else "")


def _describe_part(part: str) -> str:
    """Turn one form-style description fragment into narration words."""
    age = re.fullmatch(r"(?:aged?\s*)?(\d{1,3})(?:\s*-?\s*(?:years?|yrs?|yo)(?:[\s-]*old)?)?", part)
    if age:
        return _number_words(int(age.group(1)))
    for pattern, repl in (
        (r"(.+?)\s+hair(?:ed)?", r"\1-haired"),
        (r"(.+?)\s+eyes?", r"\1-eyed"),
        (r"(.+?)\s+(?:expression|look|face)", r"\1"),
    ):
        if re.fullmatch(pattern, part):
            return re.sub(pattern, repl, part)
    return part


def paraphrase(description: str) -> str:
    """Form-style notes ('25 years old, brown hair') read badly aloud; make them prose."""
    parts = [p.strip() for p in re.split(r"[,;]|\band\b", clean(description).rstrip("."))]
    parts = [_describe_part(p[:1].lower() + p[1:] if p[1:2].islower() else p) for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def topic_nouns(topic: str) -> list[str]:
    """Likely nouns of the topic for keywords, the head noun of its first phrase first."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", topic)]
    nouny = [w for w in words if len(w) > 2 and w not in STOPWORDS and w not in NOT_NOUNS]
    content = [w for w in nouny if not re.search(r"(ing|ly|ed|ous|ful|less|ive)$", w)]
    head = ""
    for i, word in enumerate(words):
        if word in ("the", "a", "an"):
            phrase = words[i + 1 : i + 5]
            cut = next((j for j, w in enumerate(phrase) if w in STOPWORDS), len(phrase))
            head = next((w for w in reversed(phrase[:cut]) if w in nouny), "")
            break
    return list(dict.fromkeys([head, *content] if head else content))


def _a_an(text: str) -> str:
    """Fix 'a' before vowel sounds that templates cannot know in advance."""
    return re.sub(r"\b([Aa]) (?=(?!uni|use|usu|one|eu)[aeiouAEIOU])", r"\1n ", text)


def finish(text: str, end: str = ".") -> str:
    """Capitalize and punctuate a clause into a full sentence."""
    text = _a_an(text.strip())
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".!?" else text + end
