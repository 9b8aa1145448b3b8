"""How the commands speak: the result on stdout, provenance and progress on stderr."""
import json
import sys


def say(*lines):
    """Provenance and progress: stderr, so that stdout holds the result alone."""
    for line in lines:
        print(line, file=sys.stderr)


def say_safely(line):
    """A last word on stderr that may be gone (a hung-up terminal, a reader that left):
    never an exception over work already done."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def as_json(record):
    """--format json: one object on stdout (README "JSON output" lists its keys)."""
    return json.dumps(record, indent=2, ensure_ascii=False)
