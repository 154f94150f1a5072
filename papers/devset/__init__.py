"""A labelled development set of real arXiv papers and the harness that scores taggers against it."""
