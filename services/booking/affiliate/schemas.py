from uuid import UUID

from pydantic import BaseModel


class AffiliateLinkOut(BaseModel):
    partner: str
    name: str
    code: str
    # The tracked link to give travelers: it counts the click and redirects to `target_url`.
    url: str
    target_url: str
    clicks: int


class AffiliateLinkPage(BaseModel):
    listing_id: UUID
    items: list[AffiliateLinkOut]
    next_cursor: str | None = None
