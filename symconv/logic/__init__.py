"""Reasoning: the Z3 bridge and solvers, proofs, solving for unknowns, theorems, inverses and ports of layers."""
