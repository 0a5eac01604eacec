from datetime import time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notification.notifications.domain import Channel, NotificationKind


class ChannelSettingOut(BaseModel):
    """One channel of one kind: whether it is on, and whether the user may switch it off."""

    enabled: bool
    changeable: bool


class KindPreferencesOut(BaseModel):
    kind: NotificationKind
    # Its email always goes (a booking confirmed or cancelled, a refund, the account's safety).
    transactional: bool
    channels: dict[Channel, ChannelSettingOut]


class QuietHoursBody(BaseModel):
    """No SMS from `start` to `end` (wall-clock times in `timezone`, an IANA zone); a start
    after the end crosses midnight. An SMS due in the window waits for its end."""

    model_config = ConfigDict(extra="forbid")

    start: time
    end: time
    timezone: str = Field(max_length=64)


class PreferencesOut(BaseModel):
    kinds: list[KindPreferencesOut]
    quiet_hours: QuietHoursBody | None


class KindPreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: NotificationKind
    # A channel left out is at its default (on).
    channels: dict[Channel, bool]


class PreferencesIn(BaseModel):
    """All of the user's preferences: a kind left out is at its defaults; no quiet hours, none."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[KindPreferencesIn] = Field(max_length=len(NotificationKind))
    quiet_hours: QuietHoursBody | None = None

    @field_validator("kinds")
    @classmethod
    def _each_kind_once(cls, kinds: list[KindPreferencesIn]) -> list[KindPreferencesIn]:
        if len({entry.kind for entry in kinds}) != len(kinds):
            raise ValueError("each kind is given at most once")
        return kinds


class UnsubscribedOut(BaseModel):
    """What an unsubscribe link switched off: this kind's email, now off."""

    kind: NotificationKind
    channel: Channel
    enabled: bool
