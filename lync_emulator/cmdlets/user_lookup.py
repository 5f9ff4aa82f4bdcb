"""Finding users by name without testing every user: an index of exact names.

A user is named by any of six name forms, compared with :func:`wildcard_match` (PowerShell
``-like``: an ``fnmatch`` pattern compiled with ``re.IGNORECASE``). Testing every user's forms
costs microseconds per user, so with a 5,000-user directory every Get-CsUser or Grant cost a
large fraction of a second. Most identities contain no wildcard, and such an identity can only
match a name equal to it apart from case; those are looked up in an index instead.

The answer is the scan's, for every identity, because of two facts (tests check both):

* **The index never misses a match.** If an identity is ASCII and has no wildcard
  character, ``wildcard_match(identity, name)`` implies ``fold(name) == fold(identity)``. The
  reason: a literal pattern matches exactly one character for each of its own characters, and
  under ``re.IGNORECASE`` an ASCII character matches only itself, its other case, and the four
  non-ASCII letters in ``_ASCII_EQUIVALENTS``, which ``fold`` maps to it. Non-ASCII
  identities are rare and take the scan, because outside ASCII ``re`` has its own case
  equivalences that match neither ``str.lower`` nor ``str.casefold``.
* **Every candidate is checked with the scan's own test**, so if the index holds too much,
  the only cost is time.

An index describes one sequence of document objects. Documents are never changed in place (a
write replaces the object, see :mod:`lync_emulator.store`), so the index is current exactly
when the collection holds the same objects in the same order. Every lookup checks this, at
one pointer comparison per user done at C speed, with no per-user Python. That check is how
the index follows every way the directory changes: cmdlet writes, a state reload, and test
or benchmark hooks that write the directory's dicts directly.
"""

from __future__ import annotations

import threading
from bisect import insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import compress, count
from operator import is_, is_not

from lync_emulator.cmdlets.base import wildcard_match
from lync_emulator.store import Doc

Names = Callable[[Doc], Iterable[str]]

# fnmatch's special characters. An unclosed "[" is literal to fnmatch, but the scan handles
# it, so the index needs no rule for it.
WILDCARDS = frozenset("*?[")
# The non-ASCII characters that re.IGNORECASE matches with an ASCII letter: dotted capital I
# and dotless small i (both match i), long s (matches s), the Kelvin sign (matches k).
_ASCII_EQUIVALENTS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def is_literal(identity: str) -> bool:
    """Whether the index can answer this identity: it is ASCII and has no wildcard."""
    return identity.isascii() and WILDCARDS.isdisjoint(identity)


def fold(text: str) -> str:
    """The index key of a name. Every name an ASCII literal identity matches folds to the
    same key as that identity."""
    return text.translate(_ASCII_EQUIVALENTS).lower()


@dataclass
class LookupStats:
    """Counts of the work lookups did, so tests can check complexity without a clock."""

    examined: int = 0  # documents tested against an identity with wildcard_match
    indexed: int = 0  # documents whose name forms an index computed


class NameIndex:
    """The positions of one collection's documents, keyed by folded name form."""

    def __init__(self, names: Names) -> None:
        self._names = names
        self._docs: tuple[Doc, ...] = ()  # the documents described, in store order
        self._keys: list[frozenset[str]] = []  # the folded forms of each, by position
        self._where: dict[str, list[int]] = {}  # folded form -> positions, ascending

    def candidates(self, docs: Mapping[str, Doc], key: str, stats: LookupStats) -> list[Doc]:
        """The documents in ``docs`` that have a name form folding to ``key``, in store order."""
        self._sync(docs, stats)
        return [self._docs[i] for i in self._where.get(key, ())]

    def _keys_of(self, doc: Doc, stats: LookupStats) -> frozenset[str]:
        stats.indexed += 1
        return frozenset(fold(name) for name in self._names(doc))

    def _sync(self, docs: Mapping[str, Doc], stats: LookupStats) -> None:
        """Bring the index up to date with ``docs``. The result is the same as a rebuild,
        but only the documents that changed have their forms computed again."""
        if len(docs) == len(self._docs) and all(map(is_, docs.values(), self._docs)):
            return
        current = tuple(docs.values())
        if len(current) != len(self._docs):
            self._rebuild(current, stats)
            return
        # Same count: some documents were replaced (a grant), so positions are unchanged.
        # Compute every new key set before changing anything, in case a document is malformed.
        changed = compress(count(), map(is_not, current, self._docs))
        fresh = [(i, self._keys_of(current[i], stats)) for i in changed]
        for i, keys in fresh:
            old = self._keys[i]
            for key in old - keys:
                self._where[key].remove(i)
                if not self._where[key]:
                    del self._where[key]
            for key in keys - old:
                insort(self._where.setdefault(key, []), i)
            self._keys[i] = keys
        self._docs = current

    def _rebuild(self, current: tuple[Doc, ...], stats: LookupStats) -> None:
        """Users were added or removed, so positions moved: index again. A document that was
        already indexed keeps its forms. Matching it by id is safe because ``self._docs``
        holds the old documents alive until this finishes, so no id can be reused."""
        known = {id(doc): keys for doc, keys in zip(self._docs, self._keys, strict=True)}
        keys_list: list[frozenset[str]] = []
        for doc in current:
            keys = known.get(id(doc))
            keys_list.append(self._keys_of(doc, stats) if keys is None else keys)
        where: dict[str, list[int]] = {}
        for i, keys in enumerate(keys_list):
            for key in keys:
                where.setdefault(key, []).append(i)
        self._docs, self._keys, self._where = current, keys_list, where


class NameLookup:
    """:meth:`find` for any collection. It keeps an index for each of the last few
    collections it was given, so several services in one process do not evict each other."""

    def __init__(self, names: Names, keep: int = 8) -> None:
        self.names = names
        self.stats = LookupStats()
        self._keep = keep
        self._lock = threading.Lock()  # services on other threads share this object
        # id(collection) -> (collection, its index). Holding the collection keeps its id from
        # being reused while the entry exists.
        self._indexes: dict[int, tuple[Mapping[str, Doc], NameIndex]] = {}

    def find(self, docs: Mapping[str, Doc], identity: str) -> list[Doc]:
        """The documents with a name form that ``wildcard_match(identity, form)`` accepts, in
        store order. The result is the scan's, but a literal identity tests only the
        documents the index returns, not the whole collection."""
        if not docs:
            return []
        with self._lock:
            if is_literal(identity):
                candidates = self._index(docs).candidates(docs, fold(identity), self.stats)
            else:
                candidates = list(docs.values())
            self.stats.examined += len(candidates)
        return [
            doc
            for doc in candidates
            if any(wildcard_match(identity, name) for name in self.names(doc))
        ]

    def _index(self, docs: Mapping[str, Doc]) -> NameIndex:
        entry = self._indexes.pop(id(docs), None)
        if entry is None or entry[0] is not docs:
            entry = (docs, NameIndex(self.names))
        self._indexes[id(docs)] = entry  # the most recently used goes last
        while len(self._indexes) > self._keep:
            del self._indexes[next(iter(self._indexes))]
        return entry[1]
