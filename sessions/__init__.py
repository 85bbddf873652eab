"""Sessions: recording in SQLite, comparison, replay, import and export."""
