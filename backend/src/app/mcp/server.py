"""The MCP server itself: resources and tools over :mod:`app.mcp.service`, one caller at a time.

Built on the SDK's low-level ``Server``: its lists depend on who asks (each caller sees their
own projects), which the decorator-style ``MCPServer`` with its fixed resource table does not
express. The caller comes from the authenticated HTTP request (:mod:`app.mcp.endpoint`); the
server is never reachable without one.
"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as package_version
from typing import Any, Generic, TypeVar

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    TextContent,
    TextResourceContents,
    Tool,
    ToolAnnotations,
)
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.auth.principals import Caller
from app.core.errors import AppError
from app.documents.tracing.schemas import TraceRead
from app.mcp import service, uris
from app.mcp.exceptions import UnknownToolError
from app.mcp.resources import McpResources
from app.mcp.schemas import (
    DocumentResult,
    GetDocumentArguments,
    GetItemArguments,
    ItemResult,
    MemorySearchResult,
    OpenQuestions,
    ProjectArguments,
    SearchMemoryArguments,
)

SERVER_NAME = "jeex-idea"
INSTRUCTIONS = (
    "JEEX Idea's document packages, read-only: for each of your projects the Idea, Engineering "
    "Specifications, Architecture and Implementation Plan documents, versioned. Read "
    "jeex://projects first for the project ids; then a project's manifest, its documents, or "
    "the tools search_memory, get_document, list_open_questions, get_trace and get_item."
)
CALL_SCOPE_KEY = "jeex.mcp.call"
# Implementation-defined JSON-RPC band: a refusal that is not about the request's parameters
# (a rate limit, for one).
REFUSED = -32010
_JSON = "application/json"
_MARKDOWN = "text/markdown"


@dataclass(frozen=True, slots=True)
class McpCall:
    """Who is asking, and with what: put on the request by the endpoint once authenticated."""

    resources: McpResources
    caller: Caller


def call_of(ctx: ServerRequestContext[Any, Any]) -> McpCall:
    request = ctx.request
    call = request.scope.get(CALL_SCOPE_KEY) if isinstance(request, Request) else None
    if not isinstance(call, McpCall):
        # Only the authenticating endpoint serves this server: reaching here without a caller
        # is a bug, never a request to answer anonymously.
        raise RuntimeError("an MCP request without its authenticated caller")
    return call


@contextmanager
def _as_protocol_errors() -> Iterator[None]:
    """Our errors, in the MCP client's terms: the same message the API would give."""
    try:
        yield
    except AppError as error:
        code = INVALID_PARAMS if error.status_code in {400, 404, 422} else REFUSED
        raise MCPError(code, error.message, {"code": error.code}) from None


def _json(model: BaseModel) -> str:
    return model.model_dump_json(indent=2)


# --- Resources ------------------------------------------------------------------------------


async def list_resources(
    ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
) -> ListResourcesResult:
    call = call_of(ctx)
    listed: list[Resource] = [
        Resource(
            uri=uris.PROJECTS_URI,
            name="projects",
            title="Your projects",
            description="Every project you are a member of, with its id, language and stage.",
            mime_type=_JSON,
        )
    ]
    with _as_protocol_errors():
        async with call.resources.session_factory() as session:
            projects = await service.list_projects(session, call.caller)
            for project in projects.projects:
                context = await service.project_context(
                    session, call.resources, call.caller, project.id
                )
                listed.append(
                    Resource(
                        uri=uris.manifest_uri(project.id),
                        name=f"{project.name}: manifest",
                        description="Each document's active version, path and SHA-256.",
                        mime_type=_JSON,
                    )
                )
                for status in await service.document_statuses(session, context):
                    if status.active_version is None:
                        continue
                    listed.append(
                        Resource(
                            uri=uris.document_uri(project.id, status.document_type),
                            name=f"{project.name}: {status.document_type.value}",
                            description=(
                                f"The {status.document_type.value} document, active version "
                                f"{status.active_version}."
                            ),
                            mime_type=_MARKDOWN,
                        )
                    )
    return ListResourcesResult(resources=listed)


async def list_resource_templates(
    ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
) -> ListResourceTemplatesResult:
    call_of(ctx)
    return ListResourceTemplatesResult(
        resource_templates=[
            ResourceTemplate(
                uri_template=uris.MANIFEST_TEMPLATE,
                name="manifest",
                description="A project's package as it stands.",
                mime_type=_JSON,
            ),
            ResourceTemplate(
                uri_template=uris.DOCUMENT_TEMPLATE,
                name="document",
                description="A document's active version (idea, specs, architecture, plan).",
                mime_type=_MARKDOWN,
            ),
            ResourceTemplate(
                uri_template=uris.VERSION_TEMPLATE,
                name="document-version",
                description="Any version of a document; versions are numbered from 1.",
                mime_type=_MARKDOWN,
            ),
        ]
    )


async def read_resource(
    ctx: ServerRequestContext[Any, Any], params: ReadResourceRequestParams
) -> ReadResourceResult:
    call = call_of(ctx)
    uri = str(params.uri)
    with _as_protocol_errors():
        target = uris.parse(uri)
        async with call.resources.session_factory() as session:
            text, mime_type = await _read(session, call, target)
    return ReadResourceResult(
        contents=[TextResourceContents(uri=uri, mime_type=mime_type, text=text)]
    )


async def _read(session: AsyncSession, call: McpCall, target: uris.Target) -> tuple[str, str]:
    if isinstance(target, uris.ProjectsTarget):
        return _json(await service.list_projects(session, call.caller)), _JSON
    context = await service.project_context(session, call.resources, call.caller, target.project_id)
    if isinstance(target, uris.ManifestTarget):
        return _json(await service.manifest(session, context)), _JSON
    document = await service.get_document(session, context, target.document_type, target.version)
    return document.content, _MARKDOWN


# --- Tools ----------------------------------------------------------------------------------

ArgumentsT = TypeVar("ArgumentsT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ToolSpec(Generic[ArgumentsT, ResultT]):
    name: str
    title: str
    description: str
    arguments: type[ArgumentsT]
    result: type[ResultT]
    run: Callable[[AsyncSession, McpCall, ArgumentsT], Awaitable[ResultT]]

    def describe(self) -> Tool:
        return Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.arguments.model_json_schema(),
            output_schema=self.result.model_json_schema(mode="serialization"),
            annotations=ToolAnnotations(
                read_only_hint=True,
                destructive_hint=False,
                idempotent_hint=True,
                open_world_hint=False,
            ),
        )


async def _search_memory(
    session: AsyncSession, call: McpCall, arguments: SearchMemoryArguments
) -> MemorySearchResult:
    context = await service.project_context(session, call.resources, call.caller, arguments.project)
    return await service.search_memory(
        session, call.resources, context, arguments.query, arguments.limit
    )


async def _get_document(
    session: AsyncSession, call: McpCall, arguments: GetDocumentArguments
) -> DocumentResult:
    context = await service.project_context(session, call.resources, call.caller, arguments.project)
    return await service.get_document(session, context, arguments.type, arguments.version)


async def _list_open_questions(
    session: AsyncSession, call: McpCall, arguments: ProjectArguments
) -> OpenQuestions:
    context = await service.project_context(session, call.resources, call.caller, arguments.project)
    return await service.open_questions(session, context)


async def _get_trace(
    session: AsyncSession, call: McpCall, arguments: ProjectArguments
) -> TraceRead:
    context = await service.project_context(session, call.resources, call.caller, arguments.project)
    return await service.trace(session, context)


async def _get_item(
    session: AsyncSession, call: McpCall, arguments: GetItemArguments
) -> ItemResult:
    context = await service.project_context(session, call.resources, call.caller, arguments.project)
    return await service.item(session, context, arguments.id)


TOOLS: dict[str, ToolSpec[Any, Any]] = {
    tool.name: tool
    for tool in (
        ToolSpec(
            name="search_memory",
            title="Search a project's memory",
            description=(
                "The passages of the project's documents, expert sections and messages closest "
                "in meaning to the query, best first, in the project's language."
            ),
            arguments=SearchMemoryArguments,
            result=MemorySearchResult,
            run=_search_memory,
        ),
        ToolSpec(
            name="get_document",
            title="Get a document",
            description=(
                "A project document (idea, specs, architecture or plan) as Markdown: the active "
                "version, or the version given."
            ),
            arguments=GetDocumentArguments,
            result=DocumentResult,
            run=_get_document,
        ),
        ToolSpec(
            name="list_open_questions",
            title="List the open questions",
            description=(
                "The questions the expert with the floor asked and the user has not answered "
                "yet, with their lettered options."
            ),
            arguments=ProjectArguments,
            result=OpenQuestions,
            run=_list_open_questions,
        ),
        ToolSpec(
            name="get_trace",
            title="Get the traceability graph",
            description=(
                "Every item of the active documents (goals G-, requirements R-, components C-, "
                "decisions D-, tasks T-, milestones M-), what each serves, the coverage gaps and "
                "the items a later change made stale."
            ),
            arguments=ProjectArguments,
            result=TraceRead,
            run=_get_trace,
        ),
        ToolSpec(
            name="get_item",
            title="Get one item",
            description=(
                "One item by its id (e.g. T-3): its text and section, the items it serves, the "
                "items that serve it, and whether it is stale."
            ),
            arguments=GetItemArguments,
            result=ItemResult,
            run=_get_item,
        ),
    )
}


async def list_tools(
    ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
) -> ListToolsResult:
    return ListToolsResult(tools=[tool.describe() for tool in TOOLS.values()])


def tool_input_schema(name: str) -> dict[str, Any] | None:
    tool = TOOLS.get(name)
    return tool.arguments.model_json_schema() if tool is not None else None


async def call_tool(
    ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams
) -> CallToolResult:
    call = call_of(ctx)
    tool = TOOLS.get(params.name)
    if tool is None:
        with _as_protocol_errors():
            raise UnknownToolError(f"No tool {params.name[:100]!r}; tools/list names them.")
    try:
        arguments = tool.arguments.model_validate(params.arguments or {})
    except ValidationError as error:
        return _tool_error(f"invalid arguments: {_problems(error)}")
    try:
        async with call.resources.session_factory() as session:
            result = await tool.run(session, call, arguments)
    except AppError as error:
        # A tool's failure is the tool's answer (isError), which the agent reads and acts on.
        return _tool_error(error.message)
    return CallToolResult(
        content=[TextContent(text=_json(result))],
        structured_content=result.model_dump(mode="json"),
    )


def _tool_error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=message)], is_error=True)


def _problems(error: ValidationError) -> str:
    # Field and message only: pydantic's full text echoes the input back.
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'arguments'}: {item['msg']}"
        for item in error.errors()
    )


def build_server() -> Server[Any]:
    return Server(
        SERVER_NAME,
        version=package_version("jeex-idea"),
        title="JEEX Idea",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=tool_input_schema,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
