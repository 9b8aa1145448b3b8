"""For tests that press Ctrl-C on a child process."""
import signal


def sigint_as_usual():
    """Popen preexec_fn: give the child SIGINT's default disposition. A shell's background job
    (`cmd &`) starts with SIGINT ignored, children inherit that, and Python then installs no
    KeyboardInterrupt handler, so the child would never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
