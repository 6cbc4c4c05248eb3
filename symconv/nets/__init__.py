"""Networks: the graph model, exact valid input sets, receptive fields, and the importers."""
