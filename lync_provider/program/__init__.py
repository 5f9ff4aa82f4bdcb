"""A Pulumi program's side of a stack: its validated config and its stack file.

``config`` turns the ``lync:`` keys into the component's arguments for ``__main__.py``;
``stack_file`` and ``stack_secrets`` read ``stacks/Pulumi.<stack>.yaml`` (passphrase secrets
decrypted as the CLI does) for the commands that run outside ``pulumi``.
"""
