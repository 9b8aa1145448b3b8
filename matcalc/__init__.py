"""matcalc: symbolic matrix calculus for neural networks."""
