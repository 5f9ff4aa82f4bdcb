"""A toy dynamic provider for testing the engine harness itself, free of any Lync concerns.

It keeps "things" in a JSON file whose path arrives through stack config (``toy:storePath``),
so tests can both inspect what the provider really did (``journal``) and change the "live"
objects behind its back to simulate drift. It lives in an importable module, not in the test
file, because dill pickles such a class by reference -- the pickle the provider process
unpickles then names ``tests.support.toy_provider``, just as a real program's would name
``lync_provider...``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

MANAGED = ("name", "size")


class Thing(Resource, module="toy", name="Thing"):
    """Only its type token is used: ``pulumi-python:dynamic/toy:Thing``."""


class ToyProvider(ResourceProvider):
    """A thing's id is its name; changing the name replaces it, changing its size updates it.

    ``label`` only makes pickles distinct: the provider process caches one configured instance
    per distinct pickle, so each test gets its own ``configure`` call with its own store.
    ``custom_diff=False`` falls back to the SDK's default ``diff`` (DIFF_UNKNOWN), which makes
    the engine compare old and new inputs itself.
    """

    def __init__(self, label: str, *, custom_diff: bool = True) -> None:
        super().__init__()
        self.label = label
        self.custom_diff = custom_diff

    def configure(self, req: ConfigureRequest) -> None:
        # Runs in the provider process after unpickling, so the lock is never pickled.
        self._lock = threading.Lock()
        self.store = Path(req.config.require("toy:storePath"))
        token = req.config.get("toy:token")
        with self._data() as data:
            # "region" is unqualified: Config resolves it against PULUMI_PROJECT.
            data["config"] = {"region": req.config.get("region"), "token": token}
        print(f"toy[{self.label}]: configured store {self.store.name}", file=sys.stderr)
        print(f"toy[{self.label}]: token is {'set' if token else 'unset'}")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if "meet" in news and not self._met(int(news["meet"])):
            failures.append(CheckFailure("meet", "the calls that were to meet did not overlap"))
        size = news.get("size", 0)
        if not isinstance(size, Unknown) and (not isinstance(size, (int, float)) or size < 0):
            failures.append(CheckFailure("size", "must be a non-negative number"))
        return CheckResult({**news, "size": size}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if not self.custom_diff:
            return super().diff(_id, olds, news)
        changed = [k for k in MANAGED if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "name"])

    def create(self, props: dict[str, Any]) -> CreateResult:
        if "fail" in props:
            raise RuntimeError(f"toy create refused: {props['fail']}")
        thing = {k: props[k] for k in MANAGED}
        with self._data() as data:
            data["things"][thing["name"]] = thing
            data["journal"].append(["create", thing["name"]])
        return CreateResult(thing["name"], dict(thing))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._data() as data:
            live = data["things"].get(id_)
        if live is None:
            return ReadResult("", {})
        return ReadResult(id_, dict(live), inputs={k: live[k] for k in MANAGED})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        thing = {k: news[k] for k in MANAGED}
        with self._data() as data:
            data["things"][id_] = thing
            data["journal"].append(["update", id_, olds["size"], news["size"]])
        return UpdateResult(dict(thing))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        with self._data() as data:
            del data["things"][id_]
            data["journal"].append(["delete", id_])

    def _met(self, parties: int) -> bool:
        """Wait for ``parties`` checks with this ``meet`` to be in flight at once: proof, seen
        from inside the provider process, that the calls really overlapped."""
        with self._lock:
            barriers = self.__dict__.setdefault("_barriers", {})
            barrier = barriers.setdefault(parties, threading.Barrier(parties))
        try:
            barrier.wait(10)
        except threading.BrokenBarrierError:
            return False
        return True

    @contextmanager
    def _data(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write the store; RPCs run on up to four threads at once."""
        with self._lock:
            data = (
                json.loads(self.store.read_text())
                if self.store.exists()
                else {"things": {}, "journal": []}
            )
            yield data
            self.store.write_text(json.dumps(data))
