"""Facts about Lync Server that every layer uses and that do no I/O.

``identities``: the canonical ``Global`` / ``Site:`` / ``Tag:`` forms of policy identities.
``versions``: which parameter exists from which server version, retired features,
ProductVersion families.
"""
