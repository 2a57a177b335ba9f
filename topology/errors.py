"""The one error the topology raises for conditions a developer can fix (a port taken, a component
that does not come up, a failed migration or verification); `make up` prints it without a traceback."""


class TopologyError(RuntimeError):
    pass
