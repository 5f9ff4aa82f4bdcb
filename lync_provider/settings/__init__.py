"""Where the providers connect to, and how: endpoint settings from the ``lync:`` keys.

The bottom layer with :mod:`lync_provider.lync`: ``endpoint`` validates one endpoint,
``connections`` builds the front end and Edge endpoints from stack config or ``LYNC_*``
variables, ``logs`` turns on the provider process's logging.
"""
