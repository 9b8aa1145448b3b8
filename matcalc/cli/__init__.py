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
import sys

from ..core.errors import MatcalcError, speaking
from ..train.trainer import TrainingError
from .parser import EXIT_CODES, build_parser

__all__ = ["main", "build_parser", "EXIT_CODES"]


def main(argv=None):
    args = build_parser().parse_args(argv)
    with speaking("cli"):     # advice in errors names this interface's flags (core/errors.py)
        return _run(args)


def _run(args):
    try:
        run = getattr(importlib.import_module(f".{args.module}", __name__),
                      f"cmd_{args.command}")
        return run(args) or 0
    except BrokenPipeError:       # `matcalc … | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("matcalc: interrupted", file=sys.stderr)
        return 130
    except (MatcalcError, TrainingError) as e:
        print(f"matcalc: error: {e}", file=sys.stderr)
        return 2
    except RecursionError:
        print("matcalc: error: the expression is nested too deeply", file=sys.stderr)
        return 2
    except Exception as e:   # never a SymPy traceback in front of a user
        print(f"matcalc: internal error: {type(e).__name__}: {e} (please report this input)",
              file=sys.stderr)
        return 3
