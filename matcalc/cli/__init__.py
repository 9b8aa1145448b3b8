"""The command line: `matcalc grad EXPR --wrt X`, `matcalc derive --layers …`, `train`, ….

CLI (stage 8, the top): parser.py reads the arguments; expressions.py (grad, jacobian,
hessian, check) and networks.py (derive, report, train, codegen) run them, imported only
when a command runs. The result goes to stdout; provenance ("verified …", "given that …")
and progress go to stderr, so `matcalc grad … --format latex > eq.tex` keeps the formula
alone. Exit codes (EXIT_CODES): every MatcalcError is a one-paragraph message and code 2;
any other exception an 'internal error' line and code 3, never a traceback.
"""
import importlib
import os
import signal
import sys

from ..core.errors import MatcalcError, speaking
from ..core.files import NO_SPACE, WriteError
from ..train.trainer import TrainingError, raise_stopped, stopped_words
from .version import version

__all__ = ["main", "build_parser", "EXIT_CODES"]


def __getattr__(name):
    """build_parser and EXIT_CODES, from parser.py when first asked for (see main)."""
    if name in ("build_parser", "EXIT_CODES"):
        from . import parser
        return getattr(parser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--version"]:     # at once: the parser reads the function table (SymPy)
        print(f"matcalc {version()}")
        return 0
    from .parser import build_parser
    args = build_parser().parse_args(argv)
    installed = {}
    for name in ("SIGTERM", "SIGHUP"):    # kill, timeout, a closed terminal: as Ctrl-C
        signum = getattr(signal, name, None)
        try:
            if signum and signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, raise_stopped)
                installed[signum] = signal.SIG_DFL
        except ValueError:              # main() called outside the main thread
            pass
    try:
        with speaking("cli"):     # advice in errors names this interface's flags (core/errors.py)
            return _run(args)
    finally:                      # main() called in-process (tests, notebooks): put them back
        for signum, old in installed.items():
            signal.signal(signum, old)


def _run(args):
    try:
        run = getattr(importlib.import_module(f".{args.module}", __name__),
                      f"cmd_{args.command}")
        code = run(args) or 0
        sys.stdout.flush()        # here, not at exit: `> /dev/full` is exit 2, said so
        return code
    except BrokenPipeError:       # `matcalc … | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as e:    # Ctrl-C, or SIGTERM/SIGHUP (raise_stopped): 128 + it
        _last_word(f"matcalc: {stopped_words(e)}")
        return 128 + getattr(e, "signum", signal.SIGINT)
    except (MatcalcError, TrainingError, WriteError) as e:
        _last_word(f"matcalc: error: {e}")
        return 2
    except OSError as e:
        if e.errno not in NO_SPACE:
            return _internal(e)
        # a full disk (`matcalc grad … > /dev/full`): the environment, not a bug
        if e.filename is None:        # stdout's: what Python still holds for it goes nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        where = "the device it goes to" if e.filename is None else \
            f"the device holding {os.path.dirname(os.path.abspath(e.filename))}"
        _last_word(f"matcalc: error: cannot write {e.filename or 'the output (stdout)'}: "
                   + NO_SPACE[e.errno].format(where=where))
        return 2
    except RecursionError:
        print("matcalc: error: the expression is nested too deeply", file=sys.stderr)
        return 2
    except Exception as e:   # never a SymPy traceback in front of a user
        return _internal(e)


def _internal(e):
    _last_word(f"matcalc: internal error: {type(e).__name__}: {e} (please report this input)")
    return 3


def _last_word(line):
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):     # stderr gone too: the code says it
        pass
