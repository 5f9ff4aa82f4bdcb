"""Pulumi dynamic resources that configure a Lync Server 2013 Edge for Exchange Online."""
