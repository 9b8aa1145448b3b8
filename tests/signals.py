"""For tests that press Ctrl-C on a child process."""
import signal


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# Popen keywords that give a child SIGINT's default disposition. A shell's background job
# (`cmd &`) starts with SIGINT ignored, children inherit that, and Python then installs no
# KeyboardInterrupt handler, so the child would never see the test's Ctrl-C. Only then: a
# preexec_fn makes Popen fork rather than vfork, which JAX (imported by other tests) warns about.
SIGINT_AS_USUAL = ({"preexec_fn": _default_sigint}
                   if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else {})
