"""Boolean topic queries: parse once, match many token lists.

    "social credit" AND (China OR Chinese OR Beijing) AND NOT Alberta

Syntax: words and "quoted phrases"; AND, OR, NOT (upper case; `-word` is NOT word);
parentheses; terms side by side mean AND; AND binds tighter than OR. A word ending in `*`
matches every token that starts with it (`кита*`). Terms are normalised with
analyze.text.stem_phrase, so `systems` matches `system` and 社会信用体系 matches one jieba word.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from monitor.analyze.text import add_zh_words, phrase_positions, stem_phrase


class QuerySyntaxError(ValueError):
    """The query text cannot be parsed; the message says where."""


class TokenIndex:
    """A token list indexed for looking up many terms: a set answers the usual miss, and a
    token's positions are found (once) only when some term needs them."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)
        self.distinct = frozenset(self.tokens)
        self._positions: dict[str, list[int]] = {}
        self._sorted: list[str] | None = None   # distinct tokens in order, for prefix lookups
        self._heads: frozenset[str] | None = None

    def heads(self) -> frozenset[str]:
        """The first two characters of every distinct token (prefix terms need one of them)."""
        if self._heads is None:
            self._heads = frozenset(t[:2] for t in self.distinct)
        return self._heads

    def positions(self, token: str) -> list[int]:
        """Where `token` occurs, in order."""
        if token not in self.distinct:
            return []
        found = self._positions.get(token)
        if found is None:
            found = self._positions[token] = [i for i, t in enumerate(self.tokens) if t == token]
        return found

    def starts(self, token: str, prefix: bool = False) -> list[int]:
        """Positions of `token` (of every token starting with it when `prefix`), so a
        wildcard term only checks where its first part can match."""
        if not prefix:
            return self.positions(token)
        if self._sorted is None:
            self._sorted = sorted(self.distinct)
        out: list[int] = []
        for k in range(bisect.bisect_left(self._sorted, token), len(self._sorted)):
            if not self._sorted[k].startswith(token):
                break
            out += self.positions(self._sorted[k])
        return out

    def count(self, phrase: Sequence[str]) -> int:
        """How many times `phrase` (a token tuple) occurs."""
        if not phrase or phrase[0] not in self.distinct:
            return 0
        starts = self.positions(phrase[0])
        if len(phrase) == 1:
            return len(starts)
        n = len(phrase)
        return sum(1 for i in starts if tuple(self.tokens[i:i + n]) == tuple(phrase))


class _Node:
    """What every query node has: its positive terms, gathered once for matched_terms."""

    @cached_property
    def positive_terms(self) -> "TermList":
        return TermList(tuple(self.terms()))   # type: ignore[attr-defined]


@dataclass(frozen=True)
class Term(_Node):
    """A word or phrase as normalised tokens; `wild[i]` marks tokens[i] as a prefix (`word*`)."""

    text: str
    tokens: tuple[str, ...]
    wild: tuple[bool, ...] = ()

    @cached_property
    def first(self) -> str | None:
        """The first token unless it is a prefix (the term can only match where it occurs)."""
        return None if not self.tokens or (self.wild and self.wild[0]) else self.tokens[0]

    @cached_property
    def head(self) -> str | None:
        """The first two characters of a first token that is a prefix of two or more."""
        return self.tokens[0][:2] if self.first is None and self.tokens and len(self.tokens[0]) >= 2 else None

    def matches(self, index: TokenIndex) -> bool:
        if not any(self.wild):
            return bool(self.tokens) and self.tokens[0] in index.distinct and index.count(self.tokens) > 0
        return any(self._matches_at(index.tokens, i) for i in index.starts(self.tokens[0], self.wild[0]))

    def _matches_at(self, tokens: Sequence[str], start: int) -> bool:
        if start + len(self.tokens) > len(tokens):
            return False
        return all(tokens[start + k].startswith(part) if wild else tokens[start + k] == part
                   for k, (part, wild) in enumerate(zip(self.tokens, self.wild)))

    def terms(self) -> Iterable["Term"]:
        yield self


@dataclass(frozen=True)
class Not(_Node):
    item: "Node"

    def matches(self, index: TokenIndex) -> bool:
        return not self.item.matches(index)

    def terms(self) -> Iterable[Term]:
        return ()   # terms under NOT are never evidence for a match


@dataclass(frozen=True)
class And(_Node):
    items: tuple["Node", ...]

    def matches(self, index: TokenIndex) -> bool:
        return all(item.matches(index) for item in self.items)

    def terms(self) -> Iterable[Term]:
        for item in self.items:
            yield from item.terms()


@dataclass(frozen=True)
class Or(_Node):
    items: tuple["Node", ...]

    @cached_property
    def _terms(self) -> "TermList":
        return TermList(tuple(item for item in self.items if isinstance(item, Term)))

    @cached_property
    def _others(self) -> tuple["Node", ...]:
        return tuple(item for item in self.items if not isinstance(item, Term))

    def matches(self, index: TokenIndex) -> bool:
        return self._terms.any_match(index) or any(item.matches(index) for item in self._others)

    def terms(self) -> Iterable[Term]:
        for item in self.items:
            yield from item.terms()


Node = Term | Not | And | Or


class TermList:
    """Terms looked up together in one text: those whose first token the text lacks (or,
    for a prefix, whose first two letters no token starts with) are skipped with a set
    intersection rather than checked one by one (a topic has dozens of terms, and most
    articles contain few of them)."""

    def __init__(self, terms: Sequence[Term]):
        self.terms = tuple(terms)
        self._by_first: dict[str, list[int]] = {}
        self._by_head: dict[str, list[int]] = {}
        self._always: list[int] = []   # one-letter prefixes
        for i, term in enumerate(self.terms):
            if term.first is not None:
                self._by_first.setdefault(term.first, []).append(i)
            elif term.head is not None:
                self._by_head.setdefault(term.head, []).append(i)
            else:
                self._always.append(i)
        self._firsts = frozenset(self._by_first)
        self._heads = frozenset(self._by_head)

    def _candidates(self, index: TokenIndex) -> list[int]:
        found = list(self._always)
        for token in self._firsts.intersection(index.distinct):
            found += self._by_first[token]
        if self._heads:
            for head in self._heads.intersection(index.heads()):
                found += self._by_head[head]
        return sorted(found)

    def matching(self, index: TokenIndex) -> list[Term]:
        """The terms found in the text, in their order."""
        return [self.terms[i] for i in self._candidates(index) if self.terms[i].matches(index)]

    def any_match(self, index: TokenIndex) -> bool:
        return any(self.terms[i].matches(index) for i in self._candidates(index))

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|(-)(?=\S)|([^\s()"]+))')


def _lex(text: str) -> list[tuple[str, str, int]]:
    """Query text -> (kind, value, offset) with kinds ( ) PHRASE WORD AND OR NOT."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QuerySyntaxError(f"unexpected {text[pos:].strip()[:10]!r} at character {pos + 1}")
        opening, closing, phrase, minus, word = match.groups()
        at = match.start() + (len(match.group(0)) - len(match.group(0).lstrip()))
        if opening:
            out.append(("(", "(", at))
        elif closing:
            out.append((")", ")", at))
        elif phrase is not None:
            out.append(("PHRASE", phrase, at))
        elif minus:
            out.append(("NOT", "-", at))
        elif word in ("AND", "OR", "NOT"):
            out.append((word, word, at))
        else:
            out.append(("WORD", word, at))
        pos = match.end()
    if text.count('"') % 2:
        raise QuerySyntaxError("unbalanced quote")
    return out


class _Parser:
    def __init__(self, text: str, language: str):
        self.tokens = _lex(text)
        self.i = 0
        self.language = language

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("empty query")
        node = self.or_expr()
        if self.peek() is not None:
            kind, value, at = self.tokens[self.i]
            raise QuerySyntaxError(f"unexpected {value!r} at character {at + 1}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.peek() in ("AND", "NOT", "(", "PHRASE", "WORD"):
            if self.peek() == "AND":
                self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.peek() == "NOT":
            self.take()
            return Not(self.not_expr())
        return self.atom()

    def atom(self) -> Node:
        if self.peek() is None:
            raise QuerySyntaxError("the query ends where a term was expected")
        kind, value, at = self.take()
        if kind == "(":
            node = self.or_expr()
            if self.peek() != ")":
                raise QuerySyntaxError(f"missing ')' for '(' at character {at + 1}")
            self.take()
            return node
        if kind in ("PHRASE", "WORD"):
            return make_term(value, self.language)
        raise QuerySyntaxError(f"unexpected {value!r} at character {at + 1}")


def make_term(text: str, language: str) -> Term:
    """A word or phrase normalised for `language`; a word ending in `*` is a prefix.

    A prefix is lower-cased but not stemmed (`сист*` matches систем, системы, систему)."""
    text = text.strip()
    if "*" not in text:
        add_zh_words([text])   # a Chinese term is one dictionary word; no-op for other scripts
        tokens = stem_phrase(text, language)
        if not tokens:
            raise QuerySyntaxError(f"{text!r} has only stop words or punctuation")
        return Term(text, tokens)
    parts: list[str] = []
    wild: list[bool] = []
    for word in text.split():
        if word.endswith("*") and len(word) > 1:
            parts.append(word[:-1].lower())
            wild.append(True)
        else:
            stems = stem_phrase(word, language)
            parts += stems
            wild += [False] * len(stems)
    if not parts:
        raise QuerySyntaxError(f"{text!r} has only stop words or punctuation")
    return Term(text, tuple(parts), tuple(wild))


def parse_query(text: str, language: str) -> Node:
    """Parse a boolean query for articles in `language`; raise QuerySyntaxError."""
    return _Parser(text, language).parse()


def matched_terms(node: Node, index: TokenIndex) -> list[str]:
    """The positive terms of a query found in the text (for a human-readable reason)."""
    seen: dict[tuple[str, ...], str] = {}
    for term in node.positive_terms.matching(index):
        seen.setdefault(term.tokens, term.text)
    return list(seen.values())


def find_phrases(phrases: Iterable[Term], index: TokenIndex) -> list[str]:
    """The texts of the terms that occur in the index, in the given order."""
    return [term.text for term in phrases if term.matches(index)]


__all__ = ["And", "Node", "Not", "Or", "QuerySyntaxError", "Term", "TermList", "TokenIndex", "find_phrases",
           "make_term", "matched_terms", "parse_query", "phrase_positions"]
