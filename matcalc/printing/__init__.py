"""Printers: text (the syntax matcalc parses), LaTeX and NumPy, each a SymPy printer subclass."""
