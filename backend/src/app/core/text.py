"""Text that users send and PostgreSQL stores.

PostgreSQL's ``text`` cannot hold a NUL character: one that reached the database would fail
there as a 500. Every user-supplied string of the API is therefore a :data:`UserText`, refused
with 422 at the edge, and the pattern puts the rule into ``/openapi.json``. (A lone surrogate,
which JSON can spell as ``"\\ud800"`` but UTF-8 cannot encode, pydantic already refuses.)
"""

from typing import Annotated

from pydantic import Field

NO_NUL_PATTERN = r"^[^\x00]*$"

UserText = Annotated[str, Field(pattern=NO_NUL_PATTERN)]
