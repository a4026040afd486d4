"""JEEX Idea backend."""
