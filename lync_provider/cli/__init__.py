"""The administrator's commands: ``check`` (read-only report), ``deploy`` (the local stack).

The top layer: commands read a stack file and drive the layers below; nothing imports them.
"""
