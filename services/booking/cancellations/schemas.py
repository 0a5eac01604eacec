from pydantic import BaseModel, ConfigDict, Field


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    # For the provider (or ops on their behalf): they did not turn up, so the credit is larger.
    provider_no_show: bool = False
