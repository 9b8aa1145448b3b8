"""matcalc's version, read from the installed package's metadata: no SymPy, no parser, so
that `matcalc --version` answers at once (cli/__init__.py asks here first)."""


def version():
    from importlib.metadata import PackageNotFoundError, version as installed
    try:
        return installed("matcalc-nn")
    except PackageNotFoundError:      # run from a source tree without installing
        return "(not installed)"
