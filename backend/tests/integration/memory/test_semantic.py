"""Real embeddings from the local model: a question finds the chunk that answers it."""

import pytest

from app.projects.stages import DocumentType
from tests.integration.memory.conftest import Memory

CORPUS = """# Architecture

## Authentication

Users sign in with GitHub or Google through OpenID Connect; the API then issues its own
short-lived access tokens and rotating refresh tokens.

## Storage

All invoices and supplier records are kept in PostgreSQL, with nightly backups to object
storage and point-in-time recovery.

## Pricing

The product is sold as a monthly subscription: a free tier for ten invoices, then 29 euros per
month per company.

## Deployment

Containers run on a managed Kubernetes cluster; every merge to main is deployed by the CI
pipeline after the tests pass.

## Accessibility

Every screen works with a keyboard and a screen reader; colours meet WCAG AA contrast.
"""


@pytest.mark.parametrize(
    ("query", "heading"),
    [
        ("How do people log in to their account?", "Architecture > Authentication"),
        ("Which database keeps the data, and is it backed up?", "Architecture > Storage"),
        ("How much does it cost?", "Architecture > Pricing"),
        ("How is a new release shipped to production?", "Architecture > Deployment"),
        ("Can blind users use the app?", "Architecture > Accessibility"),
    ],
)
async def test_a_semantic_query_ranks_the_relevant_chunk_first(
    memory: Memory, query: str, heading: str
) -> None:
    project = await memory.project("en")
    await memory.write_document(project, DocumentType.ARCHITECTURE, CORPUS)
    assert (await memory.index_document(project, DocumentType.ARCHITECTURE, 1)).chunks == 5

    hits = await memory.search(project, query)
    assert hits[0].heading == heading
    assert hits[0].score > hits[1].score
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
