"""Issue 14, item 4: a provider error reaches the engine as its actionable message, once.

The SDK's provider process sends the formatted traceback of whatever a provider method raised;
a chained cause would print the message (and its hint) twice with two sets of frames. The
traceback of the cause is still there for whoever asks, at debug level.
"""

from __future__ import annotations

from lync_provider.settings.logs import LOG_LEVEL_ENV
from tests.reliability.conftest import Rig, deployment
from tests.resources.conftest import PROJECT, Stack, stack_config
from tests.support.engine import Engine, ProviderProcess, Secret


def test_a_wrong_password_is_one_message_with_one_hint(rig: Rig) -> None:
    stack = rig.stack(config={"lync:password": Secret("not-the-password")})

    text = rig.failure(lambda: stack.engine.up(deployment()))

    assert "The server refused the credentials" in text
    assert text.count("hint:") == 1
    assert "The above exception was the direct cause" not in text
    assert "During handling of the above exception" not in text
    assert text.count("Traceback (most recent call last)") <= 1
    assert len(text.splitlines()) < 40


def test_the_cause_and_its_traceback_are_in_the_debug_log(rig: Rig) -> None:
    emu = rig.make_emulator()
    config = {**stack_config(emu), "lync:password": Secret("not-the-password")}
    process = ProviderProcess(project=PROJECT, env={LOG_LEVEL_ENV: "DEBUG"}).__enter__()
    stack = Stack(emu, Engine(process, config), process)
    rig.stacks.append(stack)

    rig.failure(lambda: stack.engine.up(deployment()[:1]))

    log = process.stderr
    assert "could not create it" in log and "Traceback (most recent call last)" in log
    assert "AuthenticationError" in log or "AuthenticationFailedError" in log
