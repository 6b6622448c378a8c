"""Query-conditioned source separation (see issue: separation)."""
