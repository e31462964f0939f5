"""Screens and modal dialogs of the console; one screen or dialog per module."""
