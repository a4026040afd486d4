"""Project memory: chunks of documents, sections and messages, embedded and kept in Qdrant,
searched per project and language. The entry points are in ``app.memory.service``."""
