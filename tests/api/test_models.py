"""Tests of the models the client sends."""

from __future__ import annotations

import pytest

from custom_components.smartwats.api import (
    AlbumItem,
    CallButton,
    CarouselCard,
    CopyButton,
    GroupParticipant,
    QuickReplyButton,
    UrlButton,
)


def test_album_item() -> None:
    """Album items are image or video with a URL."""
    assert AlbumItem("video", "https://x/v.mp4").as_dict() == {
        "type": "video",
        "url": "https://x/v.mp4",
    }
    with pytest.raises(ValueError, match="'image' or 'video', not 'audio'"):
        AlbumItem("audio", "https://x/a.mp3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Album item url"):
        AlbumItem("image", " ")


def test_buttons() -> None:
    """Each button type is written as the docs show."""
    assert UrlButton("Visit", "https://x").as_dict() == {
        "urlButton": {"displayText": "Visit", "url": "https://x"}
    }
    assert CopyButton("Copy", "SAVE50").as_dict() == {
        "copyButton": {"displayText": "Copy", "copyCode": "SAVE50"}
    }
    assert CallButton("Call", "+966534874887").as_dict() == {
        "callButton": {"displayText": "Call", "phoneNumber": "+966534874887"}
    }
    assert QuickReplyButton("More", "btn_info").as_dict() == {
        "quickReplyButton": {"displayText": "More", "id": "btn_info"}
    }
    for build in (
        lambda: UrlButton("", "https://x"),
        lambda: UrlButton("Visit", ""),
        lambda: CopyButton("Copy", ""),
        lambda: CallButton("Call", ""),
        lambda: QuickReplyButton("More", ""),
    ):
        with pytest.raises(ValueError, match="must be a non-empty string"):
            build()


def test_carousel_card() -> None:
    """Cards carry their image as {"url": …}, 1 to 3 buttons and an optional footer."""
    card = CarouselCard("T", "B", "https://x/i.png", [QuickReplyButton("Pick", "p1")])
    assert card.buttons == (QuickReplyButton("Pick", "p1"),)
    assert card.as_dict() == {
        "title": "T",
        "body": "B",
        "image": {"url": "https://x/i.png"},
        "buttons": [{"quickReplyButton": {"displayText": "Pick", "id": "p1"}}],
    }
    assert (
        CarouselCard("T", "B", "https://x/i.png", [UrlButton("a", "b")], "F").as_dict()["footer"]
        == "F"
    )
    with pytest.raises(ValueError, match="1 to 3 buttons, not 0"):
        CarouselCard("T", "B", "https://x/i.png", [])
    with pytest.raises(ValueError, match="1 to 3 buttons, not 4"):
        CarouselCard("T", "B", "https://x/i.png", [UrlButton("a", "b")] * 4)
    with pytest.raises(ValueError, match="Card title"):
        CarouselCard("", "B", "https://x/i.png", [UrlButton("a", "b")])


def test_group_participant_admin() -> None:
    """A participant is an admin when it has a role."""
    assert GroupParticipant("1@s.whatsapp.net", "superadmin").is_admin
    assert not GroupParticipant("1@s.whatsapp.net").is_admin
