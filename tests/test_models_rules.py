"""The models (``_models.*``) on their own: what each action and response body puts in its
``actionBody``, every refusal at construction (named, before anything could be sent), the
answers' derived properties, and how a webhook delivery is decoded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from kaizala_async import (
    ActionProperty,
    AlbumAction,
    AnnouncementAction,
    AudioAction,
    CustomAction,
    DocumentAction,
    ImageAction,
    JobAction,
    JobResponseBody,
    LetsMeetAction,
    Place,
    PollAction,
    PollChoice,
    SurveyAction,
    SurveyQuestion,
    SurveyResponseBody,
    ValidationError,
    VideoAction,
)
from kaizala_async._models.content import ActionSummary
from kaizala_async._models.events import (
    EVENT_TYPES,
    MediaItem,
    TextMessageCreatedEvent,
    TextMessageData,
    UnknownEvent,
    decode_event,
)
from kaizala_async._models.groups import SubscriberChanges, SubscriberOutcome

NUMBER = "+911234567890"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLACE = Place(latitude=17.4, longitude=78.5, name="Hyderabad")


def refusal(build: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as info:
        build()
    return info.value.argument, info.value.reason


# -- action bodies: what each sends ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kind"),
    [(ImageAction, "Image"), (AlbumAction, "Album"), (AudioAction, "Audio"), (DocumentAction, "Document"), (VideoAction, "Video")],
)  # fmt: skip
def test_a_media_action_sends_its_resource_and_caption_when_given(cls: Any, kind: str) -> None:
    assert cls.action_type == kind
    assert cls(media_resource="m1").to_json() == {"mediaResource": "m1"}
    assert cls(media_resource="m1", caption="").to_json() == {"mediaResource": "m1", "caption": ""}
    assert refusal(lambda: cls(media_resource="")) == (
        "media_resource",
        "must be a non-empty id string, not ''",
    )


def test_an_announcement_sends_title_message_and_images_when_given() -> None:
    assert AnnouncementAction.action_type == "Announcement"
    assert AnnouncementAction(message="m").to_json() == {"message": "m"}
    full = AnnouncementAction(message="m", title="t", media_resources=["a", "b"])
    assert full.media_resources == ("a", "b")
    assert full.to_json() == {"title": "t", "message": "m", "mediaResources": ["a", "b"]}


@pytest.mark.parametrize(
    ("build", "argument", "reason"),
    [
        (lambda: AnnouncementAction(message=" "), "message", "must be a non-empty string"),
        (lambda: AnnouncementAction(message="m", title=""), "title", "must be a non-empty string"),
        (lambda: AnnouncementAction(message="m", media_resources="a"), "media_resources", "must be a list of strings"),
        (lambda: AnnouncementAction(message="m", media_resources=3), "media_resources", "must be a list of strings"),
        (lambda: AnnouncementAction(message="m", media_resources=["a", ""]), "media_resources[1]", "must be a non-empty string"),
    ],
)  # fmt: skip
def test_an_announcement_is_refused_by_name(build: Any, argument: str, reason: str) -> None:
    assert refusal(build) == (argument, reason)


def test_a_job_sends_its_assignees_and_due_hours_when_given() -> None:
    assert JobAction.action_type == "Job"
    assert JobAction(title="t", assigned_to=[NUMBER]).to_json() == {
        "title": "t",
        "assignedTo": [NUMBER],
    }
    job = JobAction(title="t", assigned_to=iter([NUMBER]), due_in_hours=5)
    assert job.to_json() == {"title": "t", "assignedTo": [NUMBER], "dueDate": 5}


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: JobAction(title="", assigned_to=[NUMBER]), "title"),
        (lambda: JobAction(title="t", assigned_to=[]), "assigned_to"),
        (lambda: JobAction(title="t", assigned_to=NUMBER), "assigned_to"),
        (lambda: JobAction(title="t", assigned_to=["12"]), "assigned_to[0]"),
        (lambda: JobAction(title="t", assigned_to=[NUMBER], due_in_hours=0), "due_in_hours"),
    ],
)
def test_a_job_is_refused_by_name(build: Any, argument: str) -> None:
    assert refusal(build)[0] == argument


def test_a_poll_sends_its_choices_plain_or_with_images() -> None:
    assert PollAction.action_type == "Poll"
    poll = PollAction(
        question="q", choices=["a", PollChoice(title="b", image="i"), PollChoice(title="c")]
    )
    assert poll.to_json() == {
        "question": "q",
        "choices": [{"title": "a"}, {"title": "b", "image": "i"}, {"title": "c"}],
    }
    timed = PollAction(question="q", choices=("a", "b"), expiry_in_hours=2, is_sender_only=False)
    assert timed.to_json() == {
        "question": "q",
        "choices": [{"title": "a"}, {"title": "b"}],
        "expiryInHours": 2,
        "isSenderOnly": False,
    }


@pytest.mark.parametrize(
    ("build", "argument", "reason"),
    [
        (lambda: PollAction(question="", choices=["a", "b"]), "question", "must be a non-empty string"),
        (lambda: PollAction(question="q", choices="ab"), "choices", "must be a list of choices"),
        (lambda: PollAction(question="q", choices=5), "choices", "must be a list of choices"),
        (lambda: PollAction(question="q", choices=["a"]), "choices", "a poll needs at least two choices"),
        (lambda: PollAction(question="q", choices=["a", " "]), "choices[1]", "must be a non-empty string"),
        (lambda: PollAction(question="q", choices=["a", "b"], expiry_in_hours=0), "expiry_in_hours", "must be a whole number of at least 1"),
        (lambda: PollChoice(title=""), "choices.title", "must be a non-empty string"),
    ],
)  # fmt: skip
def test_a_poll_is_refused_by_name(build: Any, argument: str, reason: str) -> None:
    assert refusal(build) == (argument, reason)


def test_a_meeting_starts_in_utc_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
        assert (
            LetsMeetAction(title="t", starting_time=start).to_json()["startingTime"]
            == "2026-01-01T10:00:00Z"
        )
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_meeting_sends_its_start_in_utc_and_its_place() -> None:
    assert LetsMeetAction.action_type == "LetsMeet"
    start = datetime(2026, 1, 1, 10, 0, 5, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    meeting = LetsMeetAction(title="t", starting_time=start)
    assert meeting.to_json() == {
        "title": "t",
        "startingTime": "2026-01-01T04:30:05Z",
        "duration": 30,
    }
    full = LetsMeetAction(
        title="t",
        starting_time=start,
        duration_minutes=5,
        place=PLACE,
        agenda="a",
        is_sender_only=True,
    )
    assert full.to_json() == {
        "title": "t",
        "startingTime": "2026-01-01T04:30:05Z",
        "duration": 5,
        "place": {"latitude": 17.4, "longitude": 78.5, "name": "Hyderabad"},
        "agenda": "a",
        "isSenderOnly": True,
    }


@pytest.mark.parametrize(
    ("build", "argument", "reason"),
    [
        (lambda: LetsMeetAction(title="", starting_time=T0), "title", "must be a non-empty string"),
        (lambda: LetsMeetAction(title="t", starting_time=datetime(2026, 1, 1)), "starting_time", "must be a timezone-aware datetime"),
        (lambda: LetsMeetAction(title="t", starting_time="2026-01-01T00:00Z"), "starting_time", "must be a timezone-aware datetime"),
        (lambda: LetsMeetAction(title="t", starting_time=T0, duration_minutes=0), "duration_minutes", "must be a whole number of at least 1"),
        (lambda: LetsMeetAction(title="t", starting_time=T0, place=(1.0, 2.0)), "place", "must be a kaizala_async.Place"),
    ],
)  # fmt: skip
def test_a_meeting_is_refused_by_name(build: Any, argument: str, reason: str) -> None:
    assert refusal(build) == (argument, reason)


def test_a_survey_sends_its_questions_and_flags_when_given() -> None:
    assert SurveyAction.action_type == "Survey"
    question = SurveyQuestion(
        title="q", type="SingleOption", options=["x", "y"], is_invisible=False
    )
    assert question.to_json() == {
        "title": "q",
        "type": "SingleOption",
        "options": [{"title": "x"}, {"title": "y"}],
        "isInvisible": False,
    }
    assert SurveyQuestion(title="q", type="Text").to_json() == {"title": "q", "type": "Text"}
    survey = SurveyAction(title="s", questions=[SurveyQuestion(title="q", type="Numeric")])
    assert survey.to_json() == {"title": "s", "questions": [{"title": "q", "type": "Numeric"}]}
    flags = SurveyAction(
        title="s",
        questions=(question,),
        due_in_hours=3,
        is_anonymous=True,
        is_sender_only=False,
        accept_multiple_responses=True,
    )
    assert flags.to_json() == {
        "title": "s",
        "dueDate": 3,
        "isAnonymous": True,
        "isSenderOnly": False,
        "acceptMultipleResponses": True,
        "questions": [question.to_json()],
    }


@pytest.mark.parametrize(
    ("build", "argument", "reason"),
    [
        (lambda: SurveyQuestion(title="", type="Text"), "questions.title", "must be a non-empty string"),
        (lambda: SurveyQuestion(title="q", type="Date"), "questions.type", "must be one of ['AttachmentList', 'DateTime', 'Image', 'Location', 'MultiOption', 'Numeric', 'SingleOption', 'Text'], not 'Date'"),
        (lambda: SurveyQuestion(title="q", type="MultiOption"), "questions.options", "a MultiOption question needs options"),
        (lambda: SurveyQuestion(title="q", type="SingleOption", options=[]), "questions.options", "a SingleOption question needs options"),
        (lambda: SurveyQuestion(title="q", type="Text", options="ab"), "questions.options", "must be a list of strings"),
        (lambda: SurveyAction(title="", questions=[SurveyQuestion(title="q", type="Text")]), "title", "must be a non-empty string"),
        (lambda: SurveyAction(title="s", questions=[]), "questions", "a survey needs at least one question"),
        (lambda: SurveyAction(title="s", questions=7), "questions", "a survey needs at least one question"),
        (lambda: SurveyAction(title="s", questions=[{"title": "q"}]), "questions", "must be SurveyQuestion objects"),
        (lambda: SurveyAction(title="s", questions=[SurveyQuestion(title="q", type="Text")], due_in_hours=-1), "due_in_hours", "must be a whole number of at least 1"),
    ],
)  # fmt: skip
def test_a_survey_is_refused_by_name(build: Any, argument: str, reason: str) -> None:
    assert refusal(build) == (argument, reason)


def test_a_custom_action_sends_its_properties_title_validity_and_extras() -> None:
    assert CustomAction.action_type is None
    assert CustomAction(package_id="p").to_json() == {}
    prop = ActionProperty(name="n", type="Numeric", value="3")
    custom = CustomAction(
        package_id="p", properties=[prop], title="t", validity_hours=4, extra={"x": 1}
    )
    assert custom.to_json() == {
        "x": 1,
        "properties": [{"name": "n", "type": "Numeric", "value": "3"}],
        "title": "t",
        "validity": 4,
    }
    assert CustomAction(package_id="p", title="").to_json() == {"title": ""}


@pytest.mark.parametrize(
    ("build", "argument", "reason"),
    [
        (lambda: CustomAction(package_id=""), "package_id", "must be a non-empty id string, not ''"),
        (lambda: CustomAction(package_id="p", properties=[{"name": "n"}]), "properties", "must be ActionProperty objects"),
        (lambda: CustomAction(package_id="p", validity_hours=0), "validity_hours", "must be a whole number of at least 1"),
        (lambda: ActionProperty(name="", type="Text", value="v"), "properties.name", "must be a non-empty string"),
        (lambda: ActionProperty(name="n", type="Blob", value="v"), "properties.type", "must be one of ['Attachment', 'AttachmentList', 'DateTime', 'Location', 'Numeric', 'StringList', 'StringSet', 'Text'], not 'Blob'"),
        (lambda: ActionProperty(name="n", type="Numeric", value=3), "properties.value", "must be a string"),
    ],
)  # fmt: skip
def test_a_custom_action_is_refused_by_name(build: Any, argument: str, reason: str) -> None:
    assert refusal(build) == (argument, reason)


def test_a_list_given_for_a_tuple_field_is_kept_as_a_tuple() -> None:
    poll = PollAction(question="q", choices=["a", "b"])
    assert poll.choices == ("a", "b")
    assert hash(poll) == hash(PollAction(question="q", choices=("a", "b")))


# -- response bodies ---------------------------------------------------------------------------


def test_a_job_response_sends_whether_it_is_done() -> None:
    assert JobResponseBody.action_type == "Job"
    assert JobResponseBody(is_completed=False).to_json() == {"isCompleted": False}
    assert refusal(lambda: JobResponseBody(is_completed=1)) == (
        "is_completed",
        "must be True or False",
    )


def test_a_survey_response_sends_each_answer_in_its_wire_form() -> None:
    assert SurveyResponseBody.action_type == "Survey"
    at = T0 + timedelta(milliseconds=5)
    response = SurveyResponseBody(answers=["x", ("a", "b"), ["c"], 4.5, at, PLACE, 0])
    assert response.to_json() == {
        "answers": [
            "x",
            ["a", "b"],
            ["c"],
            4.5,
            int(T0.timestamp() * 1000) + 5,
            {"lt": 17.4, "lg": 78.5, "n": "Hyderabad"},
            0,
        ]
    }
    named = SurveyResponseBody(answers=["x"], response_name="me", response_location=PLACE)
    assert named.to_json() == {
        "responseName": "me",
        "responseLocation": {"latitude": 17.4, "longitude": 78.5, "name": "Hyderabad"},
        "answers": ["x"],
    }


@pytest.mark.parametrize(
    ("build", "argument", "reason"),
    [
        (lambda: SurveyResponseBody(answers=[]), "answers", "must be a non-empty list, one answer per question"),
        (lambda: SurveyResponseBody(answers="yes"), "answers", "must be a non-empty list, one answer per question"),
        (lambda: SurveyResponseBody(answers=["a", None]), "answers[1]", "must not be None"),
        (lambda: SurveyResponseBody(answers=["a"], response_location="here"), "response_location", "must be a kaizala_async.Place"),
    ],
)  # fmt: skip
def test_a_survey_response_is_refused_by_name(build: Any, argument: str, reason: str) -> None:
    assert refusal(build) == (argument, reason)


# -- answers' derived properties ---------------------------------------------------------------


def test_an_actions_time_is_its_send_time_else_its_creation_time() -> None:
    assert ActionSummary(reference_id="r", sent_at=T0, creation_time=T0 + timedelta(1)).time == T0
    assert ActionSummary(reference_id="r", creation_time=T0).time == T0
    assert ActionSummary(reference_id="r").time is None


def test_a_subscriber_outcome_succeeds_by_whichever_flag_the_service_gave() -> None:
    assert SubscriberOutcome(is_added=True).succeeded
    assert not SubscriberOutcome(is_added=False, is_removed=True).succeeded  # added wins when given
    assert SubscriberOutcome(is_removed=True).succeeded
    assert not SubscriberOutcome().succeeded
    changes = SubscriberChanges(
        results={"a": SubscriberOutcome(is_added=True), "b": SubscriberOutcome()}
    )
    assert (list(changes.failed), changes.all_succeeded) == (["b"], False)
    assert SubscriberChanges(results={"a": SubscriberOutcome(is_added=True)}).all_succeeded


# -- webhook events ----------------------------------------------------------------------------


def test_an_envelope_is_decoded_into_its_typed_event() -> None:
    payload = {
        "objectId": "G1",
        "objectType": "Group",
        "eventType": "textmessagecreated",  # any case
        "eventId": "E1",
        "context": "ctx",
        "fromUser": NUMBER,
        "fromUserId": "U1",
        "fromUserName": "Asha",
        "fromUserProfilePic": "p",
        "data": {"text": "hi", "groupId": "G1"},
    }
    event = decode_event(payload)
    assert isinstance(event, TextMessageCreatedEvent)
    assert (event.event_type, event.event_id, event.object_id, event.object_type) == (
        "TextMessageCreated",
        "E1",
        "G1",
        "Group",
    )
    assert (event.context, event.from_user, event.from_user_id, event.from_user_name) == (
        "ctx",
        NUMBER,
        "U1",
        "Asha",
    )
    assert event.from_user_profile_pic == "p"
    assert event.data.body == "hi" and event.raw is payload


def test_a_flattened_payloads_data_leaves_the_envelope_out() -> None:
    event = decode_event({"EventType": "Mystery", "ObjectId": "G1", "fromUser": NUMBER, "a": 1})
    assert isinstance(event, UnknownEvent)
    assert (event.data, event.object_id) == ({"a": 1}, "G1")


def test_a_flattened_payload_reads_its_data_from_the_top_level() -> None:
    event = decode_event(
        {
            "EventType": "TextMessageCreated",
            "textMessage": "hey",
            "isBotfromUser": True,
            "eventId": 3,
        }
    )
    assert isinstance(event, TextMessageCreatedEvent)
    assert (
        event.data.text == "hey" and event.event_id is None
    )  # a non-string envelope field is dropped


@pytest.mark.parametrize(
    "payload",
    [
        {"eventType": "Mystery", "data": {"a": 1}},
        {"data": {"a": 1}},
        {"eventType": 5, "a": 1},
        {
            "eventType": "TextMessageCreated",
            "data": {"text": ["not", "text"], "a": 1},
        },  # undecodable
    ],
)
def test_what_cannot_be_typed_is_an_unknown_event_with_its_raw_data(payload: Any) -> None:
    event = decode_event(payload)
    assert isinstance(event, UnknownEvent)
    assert event.data["a"] == 1
    assert event.event_type == (
        payload["eventType"] if isinstance(payload.get("eventType"), str) else ""
    )


def test_the_documented_event_types_are_seventeen() -> None:
    assert len(EVENT_TYPES) == 17 and "JobResponse" in EVENT_TYPES and "GroupRemoved" in EVENT_TYPES


def test_a_text_carries_both_names_whichever_came() -> None:
    assert TextMessageData(text="a").text_message == "a"
    assert TextMessageData(text_message="b").text == "b"
    both = TextMessageData(text="a", text_message="b")
    assert (both.text, both.text_message, both.body) == ("a", "b", "a")
    assert TextMessageData().body == ""


@pytest.mark.parametrize(
    ("item", "found"),
    [
        ("https://m/x", MediaItem(url="https://m/x")),
        ({"mediaUrl": "u", "mediaFileName": "f"}, MediaItem(url="u", file_name="f")),
        ({"URL": "u", "FileName": "f"}, MediaItem(url="u", file_name="f")),
        ({"url": "u", "fileName": 3}, MediaItem(url="u")),
        ({"mediaUrl": "u", "url": "v"}, MediaItem(url="u")),  # the service's name first
    ],
)
def test_a_media_item_is_read_in_each_shape(item: Any, found: MediaItem) -> None:
    event = decode_event({"eventType": "AttachmentCreated", "data": {"media": [item]}})
    assert event.data.media == (found,)


@pytest.mark.parametrize("item", [3, {"fileName": "f"}, {"url": 5}])
def test_a_media_item_without_a_url_makes_the_event_unknown(item: Any) -> None:
    assert isinstance(
        decode_event({"eventType": "AttachmentCreated", "data": {"media": [item]}}), UnknownEvent
    )
