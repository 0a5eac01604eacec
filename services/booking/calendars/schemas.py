from pydantic import BaseModel


class FeedOut(BaseModel):
    """A calendar feed's address: subscribe to `url` in a calendar app. Whoever has it reads
    the feed; rotating makes a new one and the old one leads nowhere."""

    url: str
    token: str
