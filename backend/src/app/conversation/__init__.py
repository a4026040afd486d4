"""The conversation engine: the Product Manager, four expert teams and the turn protocol."""
