"""The one exception root. Every message says the cause and the fix."""

import signal


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


class ResultsSaveError(InfragapError):
    """The results file could not be written mid-run; the last good copy is kept."""


class OutputError(InfragapError):
    """The output folder cannot be used: not a folder, not writable, or out of space."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, raised by the CLI's signal handler. A KeyboardInterrupt, not an
    InfragapError, so that every clean-up written for Ctrl-C runs for SIGTERM too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def cause(self) -> str:
        """How the run was stopped, for messages and the results file."""
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name


def interrupt_cause(interrupt: KeyboardInterrupt) -> str:
    """'Ctrl-C', 'SIGTERM', ...: a plain KeyboardInterrupt is a Ctrl-C."""
    return interrupt.cause if isinstance(interrupt, Interrupted) else "Ctrl-C"
