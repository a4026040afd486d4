"""Real servers shipped inside PyPI wheels, run under the data dir when no URL is configured."""
