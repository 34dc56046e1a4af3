"""The emulator's actions (``emulator._actions``) on their own: what each action type needs,
the events a send and a response raise (K2), the summaries and details it answers (C2, C3)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kaizala_async.emulator._actions import Action, Actions, _announcement_media, _camelize
from kaizala_async.emulator._content import ContentError, iso

MEDIA = "issued-media"


def _actions() -> Actions:
    return Actions(is_media=lambda value: value == MEDIA)


def _refused(call: Any, message: str, status: int = 400) -> None:
    with pytest.raises(ContentError) as caught:
        call()
    assert (caught.value.status, caught.value.message) == (status, message)


POLL = {"question": "Lunch?", "choices": [{"title": "Yes"}, {"title": "No", "image": "i"}]}
SURVEY = {"title": "Feedback", "questions": [
    {"title": "Name", "type": "Text"},
    {"title": "Pick", "type": "SingleOption", "options": [{"title": "A"}, {"title": "B"}, "x"]},
]}  # fmt: skip
JOB = {"title": "Stock", "assignedto": ["+911", "+912"], "duedate": 2}


def test_each_action_type_needs_its_documented_fields() -> None:
    actions = _actions()

    def send(data: dict[str, Any]) -> Any:
        return lambda: actions.send("g", data, "+91", 0.0)

    _refused(send({"actiontype": "Poll"}), "actionBody must be an object")
    _refused(send({"actionbody": {}}), "one of actionType or id is required")
    _refused(send({"actiontype": 5, "actionbody": {}}), "one of actionType or id is required")
    _refused(send({"actiontype": "Quiz", "actionbody": {}}), "actionType 'Quiz' cannot be sent")
    for kind in ("Image", "album", "AUDIO", "Document", "Video"):
        _refused(send({"actiontype": kind, "actionbody": {"mediaresource": "other"}}),
                 "actionBody.mediaResource must come from /media")  # fmt: skip
    _refused(send({"actiontype": "Announcement", "actionbody": {"message": " "}}),
             "actionBody.message is required")  # fmt: skip
    _refused(
        send({"actiontype": "Job", "actionbody": {"assignedto": ["+9"]}}),
        "actionBody.title is required",
    )
    for assigned in (None, [], "+911"):
        _refused(send({"actiontype": "Job", "actionbody": {"title": "t", "assignedto": assigned}}),
                 "actionBody.assignedTo must be a non-empty list of phone numbers")  # fmt: skip
    _refused(
        send({"actiontype": "Poll", "actionbody": {"question": 5}}),
        "actionBody.question is required",
    )
    two = "actionBody.choices needs at least two {title} entries"
    for choices in (None, [{"title": "a"}], [{"title": "a"}, {"title": ""}], [{"title": "a"}, "b"]):
        _refused(
            send({"actiontype": "Poll", "actionbody": {"question": "q", "choices": choices}}), two
        )
    _refused(
        send({"actiontype": "LetsMeet", "actionbody": {"startingtime": "t"}}),
        "actionBody.title is required",
    )
    _refused(send({"actiontype": "LetsMeet", "actionbody": {"title": "t"}}),
             "actionBody.startingTime is required")  # fmt: skip
    _refused(
        send({"actiontype": "Survey", "actionbody": {"questions": [{}]}}),
        "actionBody.title is required",
    )
    for questions in (None, []):
        _refused(send({"actiontype": "Survey", "actionbody": {"title": "t", "questions": questions}}),
                 "actionBody.questions must be a non-empty list")  # fmt: skip
    known = "each question needs a title and a known type"
    for question in ("q", {"type": "Text"}, {"title": "q", "type": "Essay"}, {"title": "q"}):
        _refused(
            send({"actiontype": "Survey", "actionbody": {"title": "t", "questions": [question]}}),
            known,
        )
    assert actions.actions == {}  # nothing refused was kept


def test_a_custom_action_is_sent_by_its_package_id_with_any_body() -> None:
    actions = _actions()
    action, events = actions.send(
        "g", {"id": "com.pkg.v1", "actionbody": {"title": "T"}}, "+91", 5.0
    )
    assert action.action_type == "com.pkg.v1"
    assert events == [("ActionCreated", {"actionId": action.action_id, "groupId": "g",
                                         "actionType": "com.pkg.v1", "title": "T", "actionTitle": "T"})]  # fmt: skip
    # An empty package id falls back to the action type.
    empty, _ = actions.send(
        "g", {"id": "", "actiontype": "Announcement", "actionbody": {"message": "m"}}, "+91", 0
    )
    assert empty.action_type == "Announcement"
    with pytest.raises(ContentError):  # and an empty id is not a custom action: its body is checked
        actions.send("g", {"id": "", "actiontype": "Announcement", "actionbody": {}}, "+91", 0)


def test_a_send_is_kept_and_raises_its_types_events() -> None:
    actions = _actions()
    sent = {kind: actions.send("g1", {"actiontype": kind, "actionbody": body}, "+91", 100.0)
            for kind, body in (("Image", {"mediaresource": MEDIA, "caption": "c"}),
                               ("Announcement", {"title": "Hi", "message": "News", "mediaresources": [None, "u/a.png"]}),
                               ("Job", JOB), ("Survey", SURVEY), ("Poll", POLL),
                               ("LetsMeet", {"title": "Meet", "startingtime": "10:00"}))}  # fmt: skip
    for kind, (action, _) in sent.items():
        assert actions.actions[action.action_id] is action
        assert (action.group_id, action.action_type, action.sender, action.sent_at) == (
            "g1",
            kind,
            "+91",
            100.0,
        )
        assert action.reference_id != action.action_id
    names = {kind: [name for name, _ in events] for kind, (_, events) in sent.items()}
    assert names == {
        "Image": ["AttachmentCreated", "ActionCreated"], "Announcement": ["Announcement", "ActionCreated"],
        "Job": ["JobCreated", "ActionCreated"], "Survey": ["SurveyCreated", "ActionCreated"],
        "Poll": ["PollCreated", "ActionCreated"], "LetsMeet": ["LetsMeetCreated", "ActionCreated"],
    }  # fmt: skip
    image, image_events = sent["Image"]
    ref = image.reference_id
    where = {"groupId": "g1", "sourceGroupId": "g1", "messageId": ref}
    assert image_events[0][1] == {
        "media": [{"mediaUrl": f"https://media.kaizala.emulator/{ref}", "mediaFileName": f"{ref}.bin"}],
        "actionType": "Image", "caption": "c", **where,
    }  # fmt: skip
    news, news_events = sent["Announcement"]
    assert news_events[0][1] == {
        "title": "Hi", "text": "News", "media": [{"url": "u/a.png", "fileName": "a.png"}],
        "groupId": "g1", "sourceGroupId": "g1", "messageId": news.reference_id,
    }  # fmt: skip
    job, job_events = sent["Job"]
    assert job_events[0][1] == {"actionId": job.action_id, "groupId": "g1", "title": "Stock",
                                "dueDate": iso(100.0 + 2 * 3600), "assignedTo": ["+911", "+912"]}  # fmt: skip
    survey, survey_events = sent["Survey"]
    created = {
        "actionId": survey.action_id,
        "groupId": "g1",
        "actionType": "Survey",
        "title": "Feedback",
    }
    assert survey_events == [("SurveyCreated", created | {"surveyTitle": "Feedback"}),
                             ("ActionCreated", created | {"actionTitle": "Feedback"})]  # fmt: skip
    poll, poll_events = sent["Poll"]
    assert poll_events[0][1] == {
        "actionId": poll.action_id,
        "groupId": "g1",
        "actionType": "Poll",
        "title": "Lunch?",
    }
    _, meet_events = sent["LetsMeet"]
    assert meet_events[0][1]["title"] == "Meet"
    _, events = actions.send("g", {"actiontype": "Job", "actionbody": {"title": "t", "assignedto": ["+9"]}},
                                     "+91", 0.0)  # fmt: skip
    assert events[0][1]["dueDate"] == iso(24 * 3600)  # due in a day unless it says
    _, events = actions.send(
        "g", {"actiontype": "Announcement", "actionbody": {"message": "m"}}, "+91", 0.0
    )
    assert events[0][1]["media"] == [] and events[0][1]["title"] == ""


def test_an_announcements_media_are_the_files_of_its_resources() -> None:
    resource = base64.b64encode(json.dumps({"Files": [
        {"Url": "https://m/1.png", "Name": "1.png"}, {"Url": None}, "x"]}).encode()).decode()  # fmt: skip
    assert _announcement_media(resource) == [
        {"url": "https://m/1.png", "fileName": "1.png"}, {"url": "", "fileName": ""},
    ]  # fmt: skip
    listed = base64.b64encode(b"[1]").decode()
    assert _announcement_media(listed) == [{"url": listed, "fileName": listed}]
    no_files = base64.b64encode(b'{"Files": 3}').decode()
    assert _announcement_media(no_files) == [{"url": no_files, "fileName": no_files}]
    assert _announcement_media("https://x/dir/p.jpg") == [
        {"url": "https://x/dir/p.jpg", "fileName": "p.jpg"}
    ]


def _one(
    actions: Actions, kind: str, body: dict[str, Any], at: float = 0.0, group: str = "g"
) -> Action:
    return actions.send(group, {"actiontype": kind, "actionbody": body}, "+91", at)[0]


def test_each_types_summary_shows_its_documented_fields() -> None:
    actions = _actions()
    image = _one(actions, "Image", {"mediaresource": MEDIA})
    assert actions.summary(image) == {
        "referenceId": image.reference_id, "actionType": "Image", "sender": "+91",
        "sentAt": iso(0.0), "actionBody": {"imageUrl": f"https://media.kaizala.emulator/{image.reference_id}.jpg"},
    }  # fmt: skip
    job = _one(actions, "Job", JOB, at=10.0)
    assert actions.summary(job)["actionBody"] == {"actionId": job.action_id, "title": "Stock",
                                                  "assigneeCount": 2, "responseCount": 0, "isCompleted": False}  # fmt: skip
    actions.respond(job, {"actionbody": {"iscompleted": True}}, "+911")
    assert actions.summary(job)["actionBody"]["isCompleted"] is False  # one of two done
    actions.respond(job, {"actionbody": {"iscompleted": False}}, "+912")
    assert actions.summary(job)["actionBody"]["isCompleted"] is False
    actions.respond(job, {"actionbody": {"iscompleted": "true"}}, "+912")
    summary = actions.summary(job)["actionBody"]
    assert (summary["isCompleted"], summary["responseCount"]) == (True, 3)
    poll = _one(actions, "Poll", POLL | {"expiryinhours": 2, "issenderonly": True}, at=60.0)
    assert actions.summary(poll)["actionBody"] == {
        "actionId": poll.action_id, "question": "Lunch?", "isSenderOnly": True, "expiryDate": iso(60.0 + 7200),
        "choices": [{"title": "Yes", "image": ""}, {"title": "No", "image": "i"}],
    }  # fmt: skip
    default_poll = actions.summary(_one(actions, "Poll", POLL))["actionBody"]
    assert (default_poll["isSenderOnly"], default_poll["expiryDate"]) == (False, iso(720 * 3600))
    meet = _one(actions, "LetsMeet", {"title": "M", "startingtime": "s", "durationinmins": 45,
                                      "place": {"name": "HQ"}, "agenda": "a"})  # fmt: skip
    assert actions.summary(meet)["actionBody"] == {
        "actionId": meet.action_id, "title": "M", "startingTime": "s", "agenda": "a", "duration": 45,
        "isSenderOnly": False, "place": {"name": "HQ"},
    }  # fmt: skip
    bare = actions.summary(
        _one(actions, "LetsMeet", {"title": "M", "startingtime": "s", "duration": 15})
    )
    assert (
        bare["actionBody"]["duration"],
        bare["actionBody"]["place"],
        bare["actionBody"]["agenda"],
    ) == (15, {}, "")
    plain = actions.summary(_one(actions, "LetsMeet", {"title": "M", "startingtime": "s"}))
    assert plain["actionBody"]["duration"] == 30
    survey = _one(actions, "Survey", SURVEY | {"duedate": 3}, at=7.0)
    assert actions.summary(survey)["actionBody"] == {"actionId": survey.action_id, "title": "Feedback",
                                                     "responseCount": 0, "expiryDate": iso(7.0 + 3 * 3600)}  # fmt: skip
    assert actions.summary(_one(actions, "Survey", SURVEY))["actionBody"]["expiryDate"] == iso(
        24 * 3600
    )


def test_a_listing_is_one_listable_type_of_one_group_since_a_time_oldest_first() -> None:
    actions = _actions()
    polls = [_one(actions, "Poll", POLL, at=float(t)) for t in (30, 10, 20)]
    _one(actions, "Poll", POLL, at=15.0, group="other")
    _one(actions, "Survey", SURVEY, at=12.0)
    listed = actions.of_type("g", {"actiontype": "poll"})
    assert [a["referenceId"] for a in listed["actions"]] == [polls[1].reference_id, polls[2].reference_id,
                                                              polls[0].reference_id]  # fmt: skip
    assert listed["hasMore"] is False
    page = actions.of_type("g", {"actiontype": "Poll", "count": "2", "fromdate": "10"})
    assert [a["sentAt"] for a in page["actions"]] == [iso(10), iso(20)]
    assert page["hasMore"] is True
    exact = actions.of_type("g", {"actiontype": "Poll", "count": "3"})
    assert exact["hasMore"] is False and len(exact["actions"]) == 3
    assert [
        a["sentAt"]
        for a in actions.of_type("g", {"actiontype": "Poll", "fromdate": "20"})["actions"]
    ] == [
        iso(20),
        iso(30),
    ]
    # A fromDate of 1e11 or more is in milliseconds (the SDK sends epoch ms); less is seconds.
    late = _one(actions, "Poll", POLL, at=2e8)
    in_ms = actions.of_type("g", {"actiontype": "Poll", "fromdate": str(int(1.5e11))})
    assert [a["referenceId"] for a in in_ms["actions"]] == [late.reference_id]
    assert actions.of_type("g", {"actiontype": "Poll", "fromdate": str(int(9e10))})["actions"] == []
    _refused(lambda: actions.of_type("g", {}), "actionType is required and must be a listable type")
    _refused(lambda: actions.of_type("g", {"actiontype": "Announcement"}),
             "actionType is required and must be a listable type")  # fmt: skip
    for query in ({"count": "x"}, {"fromdate": "yesterday"}):
        _refused(lambda q=query: actions.of_type("g", {"actiontype": "Poll", **q}),  # type: ignore[misc]
                 "count and fromDate must be numbers")  # fmt: skip
    assert actions.of_type("g", {"actiontype": "Poll", "count": "4"})["hasMore"] is False


def test_a_listing_gives_thirty_unless_told() -> None:
    actions = _actions()
    for t in range(31):
        _one(actions, "Poll", POLL, at=float(t))
    listed = actions.of_type("g", {"actiontype": "Poll"})
    assert (len(listed["actions"]), listed["hasMore"]) == (30, True)


def test_a_job_response_says_whether_it_is_done_and_raises_two_events() -> None:
    actions = _actions()
    job = _one(actions, "Job", JOB)
    rid, events = actions.respond(job, {"actionbody": {"iscompleted": "True"}}, "+911")
    common = {"actionId": job.action_id, "groupId": "g", "responseId": rid}
    specific = ("JobResponse", common | {"responseDetails": {"response": {
        "assignee": "+911", "assigneeName": "+911", "assigneeProfilePic": "", "isCompleted": True}}})  # fmt: skip
    assert events == [specific, ("ActionResponse", specific[1])]
    assert job.responses[rid] == {"responder": "+911", "iscompleted": "True"}
    _, events = actions.respond(job, {"actionbody": {"iscompleted": "no"}}, "+912")
    assert events[0][1]["responseDetails"]["response"]["isCompleted"] is False
    for body in ({}, {"iscompleted": 1}, {"iscompleted": None}):
        _refused(lambda b=body: actions.respond(job, {"actionbody": b}, "+9"),  # type: ignore[misc]
                 "actionBody.isCompleted is required for a Job")  # fmt: skip
    _refused(
        lambda: actions.respond(job, {"actionbody": "x"}, "+9"), "actionBody must be an object"
    )


def test_a_survey_response_goes_with_its_questions_and_may_be_updated() -> None:
    actions = _actions()
    survey = _one(actions, "Survey", SURVEY)
    rid, events = actions.respond(
        survey, {"actionbody": {"answers": ["Ann", "A", "extra"]}}, "+913"
    )
    name, event = events[0]
    assert name == "SurveyResponse" and events[1] == ("ActionResponse", event)
    assert event == {
        "actionId": survey.action_id, "groupId": "g", "responseId": rid, "isUpdateResponse": False,
        "responder": "+913", "responderName": "+913", "responderProfilePic": "", "isAnonymous": False,
        "responseDetails": {"responseWithQuestions": [
            {"title": "Name", "type": "Text", "options": [], "answer": "Ann"},
            {"title": "Pick", "type": "SingleOption", "options": [{"title": "A"}, {"title": "B"}], "answer": "A"},
            {"title": "2", "type": "Text", "options": [], "answer": "extra"},
        ]},
    }  # fmt: skip
    again, events = actions.respond(
        survey, {"actionbody": {"answers": ["Bo"]}, "responseid": rid}, "+913"
    )
    assert again == rid and events[0][1]["isUpdateResponse"] is True
    assert survey.responses[rid] == {"responder": "+913", "answers": ["Bo"]}
    _refused(lambda: actions.respond(survey, {"actionbody": {"answers": []}, "responseid": "nope"}, "+9"),
             "response nope not found", 404)  # fmt: skip
    _refused(lambda: actions.respond(survey, {"actionbody": {"answers": "A"}}, "+9"),
             "actionBody.answers must be a list")  # fmt: skip


def test_a_custom_actions_answers_are_text_and_other_types_take_no_response() -> None:
    actions = _actions()
    custom = actions.send(
        "g", {"id": "pkg", "actionbody": {"questions": ["not a question"]}}, "+91", 0
    )[0]
    _, events = actions.respond(custom, {"actionbody": {"answers": [5]}}, "+9")
    assert events[0][1]["responseDetails"]["responseWithQuestions"] == [
        {"title": "0", "type": "Text", "options": [], "answer": 5},
    ]  # fmt: skip
    odd = actions.send("g", {"id": "pkg", "actionbody": {"questions": [{"title": "Q", "type": "Rating"}]}},
                       "+91", 0)[0]  # fmt: skip
    _, events = actions.respond(odd, {"actionbody": {"answers": [1]}}, "+9")
    assert events[0][1]["responseDetails"]["responseWithQuestions"][0]["type"] == "Text"
    for kind, body in (("Poll", POLL), ("LetsMeet", {"title": "M", "startingtime": "s"}),
                       ("Announcement", {"message": "m"}), ("Image", {"mediaresource": MEDIA})):  # fmt: skip
        action = _one(actions, kind, body)
        _refused(lambda a=action: actions.respond(a, {"actionbody": {"answers": []}}, "+9"),  # type: ignore[misc]
                 f"{kind} actions take no responses through the API")  # fmt: skip


def test_details_carry_the_summary_and_on_request_each_response_in_camel_case() -> None:
    actions = _actions()
    job = _one(actions, "Job", JOB, at=5.0)
    rid, _ = actions.respond(
        job, {"actionbody": {"iscompleted": True, "responsename": "n"}}, "+911"
    )
    plain = actions.details(job, with_responses=False)
    assert plain == {"actionType": "Job", "actionDetails": actions.summary(job)["actionBody"],
                     "sender": "+91", "sentAt": iso(5.0)}  # fmt: skip
    full = actions.details(job, with_responses=True)
    assert full["actionDetails"]["responses"] == [
        {"responseId": rid, "assignee": "+911", "assigneeName": "+911", "isCompleted": True, "responseName": "n"},
    ]  # fmt: skip
    survey = _one(actions, "Survey", SURVEY)
    sid, _ = actions.respond(survey, {"actionbody": {"answers": [{"unknownkey": 1}]}}, "+913")
    (item,) = actions.details(survey, with_responses=True)["actionDetails"]["responses"]
    assert item == {"responseId": sid, "responder": "+913", "responderName": "+913",
                    "answers": [{"unknownkey": 1}]}  # fmt: skip
    assert _camelize({"iscompleted": [{"responsename": 1}], "other": 2}) == {
        "isCompleted": [{"responseName": 1}], "other": 2,
    }  # fmt: skip


def test_a_package_named_like_a_built_in_type_is_still_a_custom_action() -> None:
    actions = _actions()
    action, _ = actions.send(
        "g", {"id": "Poll", "actionbody": {}}, "+91", 0.0
    )  # no question, no choices
    assert action.action_type == "Poll"


def test_each_action_has_its_own_reference_and_an_image_without_caption_has_an_empty_one() -> None:
    actions = _actions()
    first, events = actions.send(
        "g", {"actiontype": "Image", "actionbody": {"mediaresource": MEDIA}}, "+91", 0.0
    )
    second = _one(actions, "Image", {"mediaresource": MEDIA})
    assert first.reference_id != second.reference_id
    assert len(first.reference_id) == 36
    assert events[0][1]["caption"] == ""


def test_a_meeting_says_whether_only_its_sender_sees_the_answers() -> None:
    actions = _actions()
    meet = _one(actions, "LetsMeet", {"title": "M", "startingtime": "s", "issenderonly": True})
    assert actions.summary(meet)["actionBody"]["isSenderOnly"] is True


def test_a_from_date_is_milliseconds_from_1e11_exactly() -> None:
    actions = _actions()
    late = _one(actions, "Poll", POLL, at=1.5e8)
    at_bound = actions.of_type("g", {"actiontype": "Poll", "fromdate": "100000000000"})  # 1e8 s
    assert [a["referenceId"] for a in at_bound["actions"]] == [late.reference_id]
    edge = _one(actions, "Poll", POLL, at=2e8)
    after = actions.of_type(
        "g", {"actiontype": "Poll", "fromdate": str(int(2e11) + 1000)}
    )  # 2e8 + 1 s
    assert after["actions"] == []
    exact = actions.of_type("g", {"actiontype": "Poll", "fromdate": str(int(2e11))})
    assert [a["referenceId"] for a in exact["actions"]] == [edge.reference_id]


def test_job_completion_reads_true_as_a_boolean_or_as_text() -> None:
    actions = _actions()
    job = _one(actions, "Job", JOB)
    for value, done in (
        (True, True),
        ("true", True),
        ("True", True),
        (False, False),
        ("TRUE", False),
    ):
        _, events = actions.respond(job, {"actionbody": {"iscompleted": value}}, "+911")
        assert events[0][1]["responseDetails"]["response"]["isCompleted"] is done, value


def test_an_unknown_response_is_not_found_and_an_option_without_title_has_an_empty_one() -> None:
    actions = _actions()
    survey = _one(actions, "Survey", {"title": "S", "questions": [
        {"title": "Pick", "type": "SingleOption", "options": [{}, {"title": "B"}]}]})  # fmt: skip
    with pytest.raises(ContentError) as caught:
        actions.respond(survey, {"actionbody": {"answers": []}, "responseid": "r9"}, "+9")
    assert (caught.value.status, caught.value.code) == (404, "NotFound")
    _, events = actions.respond(survey, {"actionbody": {"answers": ["B"]}}, "+9")
    (answered,) = events[0][1]["responseDetails"]["responseWithQuestions"]
    assert answered["options"] == [{"title": ""}, {"title": "B"}]


def test_an_announcement_resource_with_characters_outside_base64_is_given_as_its_own_url() -> None:
    resource = (
        base64.b64encode(json.dumps({"Files": [{"Url": "u", "Name": "n"}]}).encode()).decode()
        + "!!"
    )
    assert _announcement_media(resource) == [{"url": resource, "fileName": resource}]
