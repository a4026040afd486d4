"""Exports: a project's documents packed as a ZIP, built in the background, kept for a while."""
