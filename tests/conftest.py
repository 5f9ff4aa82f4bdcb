"""Every test may use the emulator fixtures (``lync_emulator``, ``make_lync_emulator``)."""

pytest_plugins = ["lync_emulator.pytest_plugin"]
