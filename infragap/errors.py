"""The one exception root. Every message says the cause and the fix."""


class InfragapError(Exception):
    """Base of every error infragap raises on purpose; the CLI prints it without a traceback."""


class ConfigError(InfragapError):
    """Bad command-line options or configuration values."""


class MissingDependency(InfragapError):
    """An optional integration is not installed."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(
            f"{what} is not installed: run `pip install 'infragap[{extra}]'` "
            f"(or `pip install -e '.[{extra}]'` in a checkout)"
        )


class PortBusy(InfragapError):
    """A requested port is already taken."""

    def __init__(self, port: int, option: str) -> None:
        super().__init__(
            f"port {port} on 127.0.0.1 is busy: pass another {option} or stop the process using it"
        )


class ServerStartError(InfragapError):
    """A server under test never became ready; the message carries the end of its log."""


class EquivalenceError(InfragapError):
    """Two variants of a pair disagree on the same inputs, so no speed-up may be reported."""


class LoadError(InfragapError):
    """The load generator failed to run or to report."""


class ResultsError(InfragapError):
    """A results file is missing, malformed, or of another schema version."""
