from typing import Annotated

from fastapi import Depends, Request

from app.llm.service import LLMGateway


async def get_llm_gateway(request: Request) -> LLMGateway:  # async: no thread-pool hop
    gateway: LLMGateway = request.app.state.llm_gateway
    return gateway


LLMGatewayDep = Annotated[LLMGateway, Depends(get_llm_gateway)]
