"""The lifecycle shared by Lync configuration objects (Get-/Set-/New-/Remove-Cs<Noun>).

Two kinds of object go through it:

* *Owned* objects (a hosting provider, a site or tag policy) are created with ``New-`` and
  removed with ``Remove-``. If one with the same identity already exists, create fails and
  says how to take it over, unless ``adopt=True``: an adopted object is then treated like a
  singleton, its prior values recorded and given back on delete, and it is never removed.
* *Singletons* (the Global access edge configuration, the Global external access policy)
  always exist and cannot be removed. Create takes them over: it records the prior value of
  each property it manages in the ``prior_values`` output, then applies the desired values;
  delete, and dropping a property from the program, put the prior values back.

Every write is followed by a read, so the outputs are what the server holds, and a write that
fails in transit is settled by reading back (see ``LyncSession.write``). If a create fails
after its write, the write is undone before the error is raised, because the engine records
nothing for a failed create.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from lync_provider.remoting import (
    AlreadyExistsError,
    CmdletCall,
    LyncRemotingError,
    NotFoundError,
    RemoteCommandError,
)
from lync_provider.resources.base import (
    PROVIDER_KEY,
    STATUS,
    LyncProvider,
    LyncResourceError,
    already_published,
    decode_map,
    encode_map,
    marker_of,
)
from lync_provider.resources.journal import Entry, Journal

log = logging.getLogger(__name__)

PRIOR = "prior_values"
CHANGED_AT = "changed_at"
# Output marking an object that existed before this resource took it over (adopt=True).
ADOPTED = "adopted"


class ConfigObjectProvider(LyncProvider):
    """CRUD for one Lync configuration noun; subclasses name it and its quirks."""

    @property
    def journal(self) -> Journal:
        """Where unfinished creates are recorded (see :mod:`journal`)."""
        return Journal()

    # Properties sent to New- even when the program leaves them unset (documented defaults),
    # because New- would otherwise prompt for them, which fails in a remote session.
    new_defaults: ClassVar[Mapping[str, Any]] = {}

    # -- hooks --------------------------------------------------------------------------

    def identity_of(self, props: Mapping[str, Any]) -> str:
        """The Lync identity the inputs or outputs refer to."""
        return str(props["identity"])

    def is_singleton(self, identity: str) -> bool:
        """True when the object always exists and is taken over rather than created."""
        return False

    def set_parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Lync parameters for Set-/New- from snake_case property values."""
        return self.to_parameters(values)

    def set_identity(self, identity: str) -> dict[str, Any]:
        """How Set- names the object it changes."""
        return {"Identity": identity}

    # -- cmdlets ------------------------------------------------------------------------

    def _get_call(self, identity: str) -> CmdletCall:
        return CmdletCall(f"Get-{self.spec.noun}", {"Identity": identity})

    def get(self, identity: str) -> dict[str, Any] | None:
        """The object as the Central Management Store holds it, or None."""
        try:
            records = self.frontend().read(self._get_call(identity))
        except NotFoundError:
            return None
        return records[0] if records else None

    def dated_get(self, identity: str) -> tuple[str | None, dict[str, Any] | None]:
        """:meth:`change_marker` and :meth:`get` in one pipeline: the replication status is
        read before the object, so it predates any write that follows, as the gate needs.

        A missing object is a non-terminating ObjectNotFound, which lets the status answer
        too; any other error, or a refused pipeline, falls back to the two reads alone, whose
        errors are then exact.
        """
        try:
            reply = self.frontend().read_all([STATUS, self._get_call(identity)])
        except RemoteCommandError:
            reply = None
        if reply is None or any(e.category != "ObjectNotFound" for e in reply.errors):
            return self.change_marker(), self.get(identity)
        return _dated(reply.records)

    def _holds(self, live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
        """Whether the object as read already has every desired value."""
        found = self.from_record(live, list(desired))
        return not self.changed_properties(found, desired)

    def _matches(self, identity: str, desired: Mapping[str, Any]) -> bool:
        live = self.get(identity)
        return live is not None and self._holds(live, desired)

    def apply(self, identity: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """Set-<noun> with just these values, and the object read back in the same round
        trip (None when there was nothing to set, or the read-back did not come with it)."""
        settable = {k: v for k, v in values.items() if k not in self.replace_on}
        settable.pop("identity", None)
        if not settable:
            return None
        params = {**self.set_identity(identity), **self.set_parameters(settable)}
        records = self.frontend().write(
            CmdletCall(f"Set-{self.spec.noun}", params),
            self._get_call(identity),
            confirm=lambda: self._matches(identity, settable),
        )
        return records[0] if records else None

    def _new_calls(self, identity: str, values: Mapping[str, Any]) -> list[CmdletCall]:
        """New-<noun> with the object read back in the same round trip."""
        props = {**self.new_defaults, **values}
        props.pop("identity", None)
        params = {"Identity": identity, **self.set_parameters(props)}
        return [CmdletCall(f"New-{self.spec.noun}", params), self._get_call(identity)]

    def _new(self, identity: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """New- for an object read as absent just before; the object as read back (None
        when the answer was lost and a read-back found it)."""
        records = self.frontend().write(
            *self._new_calls(identity, values),
            confirm=lambda: self.get(identity) is not None,
        )
        return records[0] if records else None

    def _remove(self, identity: str) -> None:
        try:
            self.frontend().write(
                CmdletCall(f"Remove-{self.spec.noun}", {"Identity": identity}),
                confirm=lambda: self.get(identity) is None,
            )
        except NotFoundError:
            return

    # -- outputs ------------------------------------------------------------------------

    def outputs(
        self,
        inputs: Mapping[str, Any],
        live: Mapping[str, Any],
        prior: Mapping[str, Any] | None,
        changed_at: str | None,
    ) -> dict[str, Any]:
        """Inputs overlaid with the live value of every managed property.

        ``changed_at`` (the server's newest LastUpdateCreation just before the last write,
        :meth:`change_marker`) tells the ReplicationGate which status reports are about this
        change and which are older.
        """
        outs = {k: v for k, v in inputs.items() if k != PROVIDER_KEY}
        outs.update(self.from_record(live, list(self.managed(inputs))))
        outs["identity"] = self.identity_of(inputs)
        if changed_at is not None:
            outs[CHANGED_AT] = changed_at
        if prior is not None:
            outs[PRIOR] = encode_map(prior, "property")
        return outs

    def _read_back(self, identity: str) -> dict[str, Any]:
        live = self.get(identity)
        if live is None:
            raise LyncResourceError(f"{self.kind} {identity!r} was written but cannot be read back")
        return live

    # -- Pulumi provider methods -------------------------------------------------------

    def create(self, props: Any) -> CreateResult:
        """New-, adopt, or take over; the outputs are what the server then holds.

        Most creates make a new object, so an owned object with nothing journaled for it is
        sent New- at once, in one pipeline with the replication status and the read-back
        (:meth:`_create_new`). Otherwise, and when that pipeline is refused, the object is
        read first (:meth:`_create_or_take_over`).

        The engine records nothing for a failed create, so a failure after the write is
        undone first: a new object is removed, a taken-over one gets its prior values back.
        What cannot be undone stays in the :class:`Journal`, which the next create reads: an
        object that exists with exactly the journaled values is this resource's own, and
        journaled prior values are the ones to restore.
        """
        identity = self.identity_of(props)
        desired = self.managed(props)
        with self.failing("create it", identity):
            endpoint = self.connections().require_frontend().display_url
            pending = self.journal.find(endpoint, self.kind, identity)
            if pending is None and not self.is_singleton(identity):
                created = self._create_new(props, identity, desired, endpoint)
                if created is not None:
                    return created
            return self._create_or_take_over(props, identity, desired, endpoint, pending)

    def _create_new(
        self, props: Mapping[str, Any], identity: str, desired: Mapping[str, Any], endpoint: str
    ) -> CreateResult | None:
        """Replication status, Get-, New- and its read-back: a new object in one round trip.

        Get- finding nothing is a non-terminating ObjectNotFound, so New- runs after it; an
        object that exists makes New- refuse it as a duplicate, which stops the pipeline.
        What came before the refusal says how far it got: the Get- proved the object absent
        (then a refused New-, or a refused read-back after New- took effect, is the failure
        of a create, undone as such), or the object existed or the pipeline stopped sooner,
        and nothing of this resource's was written: None, for the object to be read again
        and adopted, refused or created (:meth:`_create_or_take_over`). A reply lost in
        transit is settled by reading back the declared values, as after a crash
        (:class:`Journal`).
        """
        self.journal.record(endpoint, self.kind, identity, desired, None)
        try:
            reply = self.frontend().write_all(
                [STATUS, self._get_call(identity), *self._new_calls(identity, desired)],
                confirm=lambda: self._matches(identity, desired),
            )
        except RemoteCommandError as err:
            if any(e.category == "ObjectNotFound" for e in err.passed_errors):  # was absent
                self._failed_create(endpoint, identity, err, self._undo_new(identity))
                raise
            self.journal.discard(endpoint, self.kind, identity)
            log.info("%s %r: New- did not run (%s)", self.kind, identity, err.summary)
            return None
        except LyncRemotingError as err:
            # Unknown outcome; and the object may have been there before, so it stays, and
            # so does the journal entry, for the next create to recognise what New- wrote.
            self._failed_create(endpoint, identity, err, None)
            raise
        changed_at, written = _dated(reply.records)
        try:
            outs = self.outputs(props, written or self._read_back(identity), None, changed_at)
        except (LyncRemotingError, LyncResourceError) as err:
            self._failed_create(endpoint, identity, err, self._undo_new(identity))
            raise
        self.journal.discard(endpoint, self.kind, identity)
        return CreateResult(identity, outs)

    def _undo_new(self, identity: str) -> Callable[[], object]:
        """The undo of a New- sent for an object proved absent: remove it if it exists."""
        return partial(self._remove_if_created, identity)

    def _create_or_take_over(
        self,
        props: Mapping[str, Any],
        identity: str,
        desired: Mapping[str, Any],
        endpoint: str,
        pending: Entry | None,
    ) -> CreateResult:
        """Read the object first: a singleton, an object that exists (adopt it or refuse),
        or one an earlier create journaled (take it over as ours, or make it anew)."""
        changed_at, live = self.dated_get(identity)
        prior: dict[str, Any] | None = None
        undo: Callable[[], object] | None = None
        adopted = False
        try:
            if live is None and self.is_singleton(identity):
                raise LyncResourceError(f"{self.spec.noun} {identity!r} is missing")
            if live is None:
                undo = self._undo_new(identity)
                self.journal.record(endpoint, self.kind, identity, desired, None)
                written = self._new(identity, desired)
            elif not self.is_singleton(identity) and self._journaled_create(pending, live):
                log.warning(
                    "%s %r exists exactly as an earlier create that could not finish "
                    "wrote it; taking it over as created by this resource",
                    self.kind,
                    identity,
                )
                written = self.apply(identity, desired)
            else:
                adopted = not self.is_singleton(identity)
                if adopted:
                    self._check_adoptable(props, identity, live)
                prior = self._prior(live, desired, pending)
                undo = partial(self._restore_unless_unchanged, identity, prior)
                if self._holds(live, desired):
                    # Taking over an object that already holds the declared values (an
                    # exported program's first up) writes nothing.
                    written, changed_at = dict(live), already_published(changed_at)
                else:
                    self.journal.record(endpoint, self.kind, identity, desired, prior)
                    written = self.apply(identity, desired)
            outs = self.outputs(props, written or self._read_back(identity), prior, changed_at)
        except (LyncRemotingError, LyncResourceError) as err:
            self._failed_create(endpoint, identity, err, undo)
            raise
        if adopted:
            outs[ADOPTED] = True
        self.journal.discard(endpoint, self.kind, identity)
        return CreateResult(identity, outs)

    def _failed_create(
        self, endpoint: str, identity: str, err: Exception, undo: Callable[[], object] | None
    ) -> None:
        """Undo what a failed create changed; its journal entry stays only if that failed.
        A New- refused as a duplicate created nothing, and the object is not ours."""
        duplicate = isinstance(err, AlreadyExistsError)
        if duplicate or (undo is not None and self._undo(undo, err)):
            self.journal.discard(endpoint, self.kind, identity)

    def _prior(
        self, live: Mapping[str, Any], desired: Mapping[str, Any], pending: Entry | None
    ) -> dict[str, Any]:
        """What the managed properties were before any write of ours: journaled values
        from a create that could not finish win over what the server holds now."""
        prior = self.from_record(live, list(desired))
        if pending is not None and pending.prior is not None:
            prior.update({k: v for k, v in pending.prior.items() if k in prior})
        return prior

    def _journaled_create(self, pending: Entry | None, live: Mapping[str, Any]) -> bool:
        """Whether ``live`` is what an earlier, unfinished New- of this resource wrote."""
        if pending is None or pending.prior is not None:
            return False
        found = self.from_record(live, list(pending.desired))
        return not self.changed_properties(found, pending.desired)

    def _remove_if_created(self, identity: str) -> None:
        """It did not exist before our New-; if it exists now, New- took effect."""
        if self.get(identity) is not None:
            self._remove(identity)

    def _restore_unless_unchanged(self, identity: str, prior: Mapping[str, Any]) -> None:
        if not self._matches(identity, prior):
            self.apply(identity, prior)

    def _undo(self, undo: Callable[[], object], cause: Exception) -> bool:
        """Run the undo; False (noted on ``cause``) when it failed too."""
        try:
            undo()
        except LyncRemotingError as err:
            cause.add_note(f"Undoing the partial change failed as well: {err}")
            return False
        return True

    def _check_adoptable(
        self, props: Mapping[str, Any], identity: str, live: Mapping[str, Any]
    ) -> None:
        if not props.get("adopt"):
            raise LyncResourceError(
                f"{self.kind} {identity!r} already exists on the server. To manage the "
                "existing object with Pulumi, set adopt=True on this resource (with the "
                "reference program: `pulumi config set lync:adoptExisting true`); create then "
                "converges it to the declared values, and destroy gives it back its values "
                f"as they were. Or remove it with Remove-{self.spec.noun} -Identity "
                f"{identity!r}, or choose another identity."
            )
        found = self.from_record(live, sorted(self.replace_on & props.keys()))
        fixed = self.changed_properties(found, {k: props[k] for k in found})
        if fixed:
            names = ", ".join(fixed)
            raise LyncResourceError(
                f"{self.kind} {identity!r} exists with a different {names} "
                f"({', '.join(f'{k}={found[k]!r}' for k in fixed)}), which Set-{self.spec.noun} "
                "cannot change. Remove the existing object first (Remove-"
                f"{self.spec.noun} -Identity {identity!r}), or declare its values. If this "
                f"stack had adopted it and the program changed its {names}: the replacement "
                "gave it back with its prior values, because a stack never removes an object "
                "it adopted, so it is no longer in the stack; once it is removed, `pulumi up` "
                "creates it with the new values."
            )

    def _takes_over(self, identity: str, props: Mapping[str, Any]) -> bool:
        """Singletons and adopted objects are given back, never removed."""
        return self.is_singleton(identity) or bool(props.get(ADOPTED))

    def read(self, id_: str, props: Any) -> ReadResult:
        """Live values of the managed properties; an owned object that vanished is gone."""
        identity = id_ or self.identity_of(props)
        with self.failing("read it", identity):
            live = self.get(identity)
        if live is None:
            return ReadResult("", {})
        prior = decode_map(props[PRIOR], "property") if PRIOR in props else None
        outs = self.outputs(props, live, prior, props.get(CHANGED_AT))
        inputs = {k: outs[k] for k in self.spec.model_fields if outs.get(k) is not None}
        return ReadResult(identity, outs, inputs)

    def update(self, id_: str, olds: Any, news: Any) -> UpdateResult:
        """Write only what changed; restore the prior value of properties no longer managed."""
        identity = id_
        changed = self.changed_properties(olds, news)
        wanted = self.managed(news)
        desired = {k: wanted[k] for k in changed if k in wanted}
        dropped = [k for k in changed if k not in wanted]
        prior: dict[str, Any] | None = None
        changed_at = self.change_marker()
        with self.failing("update it", identity):
            if self._takes_over(identity, olds):
                prior = decode_map(olds.get(PRIOR), "property")
                newly = [k for k in desired if k not in prior]
                if newly:
                    prior.update(self.from_record(self._read_back(identity), newly))
                restore = {k: prior.pop(k) for k in dropped if k in prior}
                written = self.apply(identity, {**restore, **desired})
            else:
                written = self.apply(identity, desired)
            live = written or self._read_back(identity)
            outs = self.outputs(news, live, prior, changed_at)
        if olds.get(ADOPTED):
            outs[ADOPTED] = True
        return UpdateResult(outs)

    def delete(self, id_: str, props: Any) -> None:
        """Remove an object this resource created (already gone is fine); give a singleton
        or an adopted object its prior values back, unless it already holds them (nothing
        was written at takeover, or someone restored them by hand)."""
        identity = id_ or self.identity_of(props)
        with self.failing("delete it", identity):
            if self._takes_over(identity, props):
                self._restore_unless_unchanged(identity, decode_map(props.get(PRIOR), "property"))
            else:
                self._remove(identity)


def _dated(records: Sequence[Mapping[str, Any]]) -> tuple[str | None, dict[str, Any] | None]:
    """A pipeline's replication status records (the marker of :func:`marker_of`) and the
    object the rest of it returned (None for none)."""
    objects = [dict(record) for record in records if "ReplicaFqdn" not in record]
    replicas = [record for record in records if "ReplicaFqdn" in record]
    return marker_of(replicas), objects[0] if objects else None
