"""The public subprocessor page, its feeds (JSON, CSV, Atom) and their never-stale cache."""
