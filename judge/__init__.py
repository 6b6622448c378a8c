"""Reference-free separation judge."""
