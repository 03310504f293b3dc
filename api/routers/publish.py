"""Publishing: ``POST /api/publish/scenes|robots|policies`` and the extracted robot bundle files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from api.cloud.auth import CurrentIdentity, Database, check_owner
from api.cloud.errors import CloudError
from api.cloud.publishing.bundles import bundle_content_type, resolve_bundle_file
from api.cloud.publishing.policies import publish_policy
from api.cloud.publishing.robots import publish_robot
from api.cloud.publishing.scenes import publish_scene
from api.cloud.publishing.transforms import parse_transform_text
from api.cloud.publishing.uploads import UploadLimitRoute, read_upload
from api.cloud.schemas.common import ERRORS
from api.cloud.schemas.publish import PolicyEnvelope, RobotEnvelope, RuntimeAdapter, SceneEnvelope

router = APIRouter(tags=["Publishing"], route_class=UploadLimitRoute)

OptionalText = Annotated[str | None, Form()]
OWNER_DOC = "Optional explicit owner. Must match the authenticated user when present."


@router.post(
    "/api/publish/scenes",
    operation_id="publishScene",
    status_code=201,
    summary="Publish a scene",
    responses=ERRORS(400, 401, 403),
)
async def publish_scene_route(
    request: Request,
    identity: CurrentIdentity,
    db: Database,
    glb: Annotated[UploadFile, File(description="Scene GLB upload.")],
    preview: Annotated[UploadFile | None, File(description="Optional preview image.")] = None,
    owner: Annotated[str | None, Form(description=OWNER_DOC)] = None,
    slugPath: Annotated[str | None, Form(description="Defaults to my-scene; auto-increments.")] = None,  # noqa: N803
    title: Annotated[str | None, Form(description="Defaults to My Scene.")] = None,
    description: OptionalText = None,
    benchmarkSceneRef: Annotated[str | None, Form(description="Defaults to chasebrignac/parkour.")] = None,  # noqa: N803
    transform: Annotated[str | None, Form(description="Optional JSON-encoded SceneTransform.")] = None,
) -> SceneEnvelope:
    """Upload one scene GLB and return its public manifest."""
    publisher = check_owner(identity, owner)
    glb_bytes = await read_upload(glb, "glb")
    if glb_bytes is None:
        raise CloudError(400, "glb is required: upload the scene as a .glb file.")
    preview_bytes = await read_upload(preview, "preview")
    manifest = await run_in_threadpool(
        publish_scene,
        db,
        request.app.state.file_store,
        str(request.base_url),
        publisher,
        glb=glb_bytes,
        slug_path=slugPath,
        title=title,
        description=description,
        benchmark_scene_ref=benchmarkSceneRef,
        transform=parse_transform_text(transform),
        preview=preview_bytes,
    )
    return SceneEnvelope.model_validate({"manifest": manifest})


@router.post(
    "/api/publish/robots",
    operation_id="publishRobot",
    status_code=201,
    summary="Publish a robot bundle",
    responses=ERRORS(400, 401, 403),
)
async def publish_robot_route(
    request: Request,
    identity: CurrentIdentity,
    db: Database,
    bundle: Annotated[UploadFile, File(description="Zipped MuJoCo bundle.")],
    robotKey: Annotated[str, Form(examples=["unitree/g1"])],  # noqa: N803
    owner: Annotated[str | None, Form(description=OWNER_DOC)] = None,
    slugPath: Annotated[str | None, Form(description="Defaults to my-robot; auto-increments.")] = None,  # noqa: N803
    title: Annotated[str | None, Form(description="Defaults to My Robot.")] = None,
    description: OptionalText = None,
    entryXmlPath: Annotated[str | None, Form(description="Optional explicit entry XML path.")] = None,  # noqa: N803
) -> RobotEnvelope:
    """Upload a zipped MuJoCo robot bundle and return its public manifest."""
    publisher = check_owner(identity, owner)
    bundle_bytes = await read_upload(bundle, "bundle")
    if bundle_bytes is None:
        raise CloudError(400, "bundle is required: upload the MuJoCo robot folder as a .zip file.")
    manifest = await run_in_threadpool(
        publish_robot,
        db,
        request.app.state.file_store,
        str(request.base_url),
        publisher,
        bundle=bundle_bytes,
        robot_key=robotKey,
        slug_path=slugPath,
        title=title,
        description=description,
        entry_xml_path=entryXmlPath,
    )
    return RobotEnvelope.model_validate({"manifest": manifest})


@router.post(
    "/api/publish/policies",
    operation_id="publishPolicy",
    status_code=201,
    summary="Publish a policy",
    responses=ERRORS(400, 401, 403),
)
async def publish_policy_route(
    request: Request,
    identity: CurrentIdentity,
    db: Database,
    model: Annotated[UploadFile, File(description="Policy ONNX file.")],
    runtimeAdapter: Annotated[RuntimeAdapter, Form()],  # noqa: N803
    depthModel: Annotated[UploadFile | None, File(description="Optional depth model ONNX file.")] = None,  # noqa: N803
    owner: Annotated[str | None, Form(description=OWNER_DOC)] = None,
    slugPath: Annotated[str | None, Form(description="Defaults to my-policy; auto-increments.")] = None,  # noqa: N803
    title: Annotated[str | None, Form(description="Defaults to My Policy.")] = None,
    description: OptionalText = None,
    defaultRobotRef: OptionalText = None,  # noqa: N803
    defaultSceneRef: OptionalText = None,  # noqa: N803
    config: Annotated[
        str | None, Form(description="JSON text for onnx_metadata_v1 or YAML text for unitree_velocity_g1_v0.")
    ] = None,
) -> PolicyEnvelope:
    """Upload one ONNX policy (plus its adapter config) and return its public manifest."""
    publisher = check_owner(identity, owner)
    model_bytes = await read_upload(model, "model")
    if model_bytes is None:
        raise CloudError(400, "model is required: upload the policy as an .onnx file.")
    depth_bytes = await read_upload(depthModel, "depthModel")
    manifest = await run_in_threadpool(
        publish_policy,
        db,
        request.app.state.file_store,
        str(request.base_url),
        publisher,
        model=model_bytes,
        runtime_adapter=runtimeAdapter.value,
        slug_path=slugPath,
        title=title,
        description=description,
        config=config,
        depth_model=depth_bytes,
        default_robot_ref=defaultRobotRef,
        default_scene_ref=defaultSceneRef,
    )
    return PolicyEnvelope.model_validate({"manifest": manifest})


@router.get("/files/bundles/{digest}/{path:path}", include_in_schema=False)
def get_bundle_file(digest: str, path: str, request: Request) -> FileResponse:
    """A file of an extracted robot bundle (the entry XML and the meshes it loads)."""
    found = resolve_bundle_file(request.app.state.file_store, digest, path)
    if found is None:
        raise CloudError(404, "File not found.")
    return FileResponse(
        found, media_type=bundle_content_type(path), headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )
