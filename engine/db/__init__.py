"""Database: piccolo tables, engine binding from a URL, and the migration runner."""
