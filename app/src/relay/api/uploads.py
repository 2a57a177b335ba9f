"""Uploads: presigned POST straight to S3, then `complete` verifies the object (DESIGN §4)."""

from fastapi import APIRouter, Response, status

from relay.api.deps import CurrentUser, DbSession, HubDep, SettingsDep, StorageDep
from relay.api.errors import responses
from relay.api.schemas import PresignedPost, UploadIdPath, UploadIn, UploadOut
from relay.services import uploads

router = APIRouter(prefix="/uploads", tags=["uploads"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(413, 415))
async def create_upload(
    body: UploadIn, session: DbSession, user: CurrentUser, storage: StorageDep, settings: SettingsDep
) -> PresignedPost:
    """A presigned POST for one file of the declared type and exact size, under a key of its own."""
    post = await uploads.create_upload(
        session,
        storage,
        settings,
        user.user_id,
        filename=body.filename,
        content_type=body.content_type,
        size=body.size,
    )
    return PresignedPost.model_validate(post)


@router.post("/{upload_id}/complete")
async def complete_upload(
    upload_id: UploadIdPath, session: DbSession, user: CurrentUser, storage: StorageDep, hub: HubDep
) -> UploadOut:
    """Check the stored object (size, type, disposition): ready, or rejected with the reason."""
    attachment, changed = await uploads.complete_upload(session, storage, user.user_id, upload_id)
    if changed:
        await hub.notifier.notify(user.user_id, "upload", uploads.status_text(attachment))
    return UploadOut.model_validate(uploads.view(attachment, storage))


@router.get("/{upload_id}")
async def get_upload(
    upload_id: UploadIdPath, session: DbSession, user: CurrentUser, storage: StorageDep
) -> UploadOut:
    """The upload's state, with a short-lived read URL once ready (uploader only)."""
    attachment = await uploads.own_upload(session, user.user_id, upload_id)
    return UploadOut.model_validate(uploads.view(attachment, storage))


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_upload(
    upload_id: UploadIdPath, session: DbSession, user: CurrentUser, storage: StorageDep
) -> Response:
    """Remove the object and the upload (uploader only)."""
    await uploads.delete_upload(session, storage, user.user_id, upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
