"""HTTP API: POST /api/chat answers like the chat page; GET /api/image draws a structure.

`python -m chemnet.api [--host 127.0.0.1 --port 8000]` serves it with uvicorn; the OpenAPI
schema is at /openapi.json. Malformed requests get a 4xx with a message, never a 5xx.
"""

from __future__ import annotations

import argparse
import logging
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from chemnet import chat, chem

logger = logging.getLogger(__name__)

MAX_BODY_MESSAGE = 10_000  # longer bodies are refused outright; chat refuses > 500 characters


class ChatRequest(BaseModel):
    """What a client asks: a message and the answer mode."""

    model_config = ConfigDict(extra="ignore")  # unknown fields are harmless; ignore them
    message: str = Field(..., max_length=MAX_BODY_MESSAGE,
                         examples=["Tell me about Caffeine"])
    mode: Literal["auto", "ai", "fallback"] = "auto"


class ChatAnswer(BaseModel):
    """The answer of DESIGN.md; status is ok, not_found or error."""

    model_config = ConfigDict(extra="allow")
    query: str
    mode: str
    status: Literal["ok", "not_found", "error"]
    source: str | None = None
    name: str | None = None
    formula: str | None = None
    molecular_weight: float | None = None
    canonical_smiles: str | None = None
    inchi: str | None = None
    inchikey: str | None = None
    cid: int | None = None
    synonyms: list[str] = []
    descriptors: dict[str, Any] = {}
    confidence: float | None = None
    alternatives: list[dict[str, Any]] = []
    image_url: str | None = None
    message: str = ""


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # Load the store and models before the first request, so no client waits for them.
    chat.get_engine().warm()
    yield


app = FastAPI(
    title="ChemNet-Vision API",
    version="0.1.0",
    description="Ask about a molecule by name, SMILES, CAS number or sentence.",
    lifespan=_lifespan,
)


@app.exception_handler(RequestValidationError)
async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg')}"
        for error in exc.errors()
    )
    return JSONResponse(status_code=422,
                        content={"message": f"invalid request: {problems}",
                                 "detail": jsonable_errors(exc)})


def jsonable_errors(exc: RequestValidationError) -> list[dict]:
    """Validation errors without the raw input (which may be huge or not JSON-safe)."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()]


@app.post("/api/chat", response_model=ChatAnswer)
def post_chat(request: ChatRequest) -> dict:
    """Answer one chat message in the chosen mode."""
    return chat.answer(request.message, request.mode)


@app.get("/api/image", response_class=Response,
         responses={200: {"content": {"image/png": {}}}, 400: {"description": "bad SMILES"}})
def get_image(smiles: str = Query(..., min_length=1, max_length=2000),
              size: int = Query(300, ge=64, le=1200)) -> Response:
    """A 2D drawing of a SMILES as PNG (the answer's image_url points here)."""
    png = chem.draw_png(smiles, size)
    if png is None:
        return JSONResponse(status_code=400,
                            content={"message": f"not a valid SMILES: {smiles[:100]!r}"})
    return Response(content=png, media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@app.get("/api/health")
def get_health() -> dict:
    """Which parts are available: the store and the two models."""
    engine = chat.get_engine()
    return {
        "status": "ok",
        "store": engine.store() is not None,
        "name_model": engine.name_model.exists(),
        "image_model": engine.image_model.exists(),
    }


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the ChemNet-Vision HTTP API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
