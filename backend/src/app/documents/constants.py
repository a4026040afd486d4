"""Limits of the documents domain."""

# Version numbers are PostgreSQL integers: a larger one can name no version, and must be
# refused as input rather than reach the database.
MAX_VERSION = 2_147_483_647
