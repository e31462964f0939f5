"""The console's case dialogs: one modal per action, fed plain dataclasses, never the database."""
