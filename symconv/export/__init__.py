"""Export: LaTeX, derivations, documents and figures."""
