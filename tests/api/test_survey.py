"""The satisfaction survey page (chapter 22): it renders, stores answers once, refuses a second submit
politely, and answers a forged or expired link with a not-found page; the 22.2.1 push links to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from api.settings import Settings
from his_clients.registry import Registry
from services.surveys import SurveyInvite, SurveyLinks, SurveyService
from store.messages import OutboundMessage
from store.surveys import SurveyAnswer
from tests.conftest import running_gateway

VISIT = SurveyInvite(
    hospital_id="253",
    questionnaire_type="0",
    visit_key="524554251",
    dept_code="31",
    dept_name="内科门诊",
    doctor_code="001",
    doctor_name="华佗",
    visited_time="2020-05-18 10:37:50",
)
COMPLETE = {
    "overall": "5",
    "doctor": "4",
    "nurse": "5",
    "waiting": "3",
    "environment": "4",
    "recommend": "愿意",
    "comment": "挂号很方便 <b>谢谢</b>",
}


@pytest.fixture
async def client(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        public_base_url="https://gateway.example",
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


def surveys_of(client: httpx.AsyncClient) -> SurveyService:
    service: SurveyService | None = client._transport.app.state.services.surveys  # type: ignore[attr-defined]
    assert service is not None
    return service


def path_for(client: httpx.AsyncClient, invite: SurveyInvite = VISIT) -> str:
    return f"/survey/{surveys_of(client).links.token(invite)}"


async def submit(client: httpx.AsyncClient, path: str, form: dict[str, str]) -> httpx.Response:
    return await client.post(
        path, content=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


async def stored(client: httpx.AsyncClient) -> list[SurveyAnswer]:
    async with surveys_of(client)._db.session() as session:
        return list((await session.execute(select(SurveyAnswer))).scalars())


async def test_the_page_shows_the_questionnaire_of_the_visit(client: httpx.AsyncClient) -> None:
    response = await client.get(path_for(client))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    page = response.text
    assert 'name="viewport"' in page
    assert "<script" not in page
    assert "门诊满意度调查" in page
    for shown in ("济南市第一人民医院", "内科门诊", "华佗"):
        assert shown in page
    for question in surveys_of(client).config.questionnaire("0").questions:  # type: ignore[union-attr]
        assert question.text in page
    assert page.count('type="radio" name="overall"') == 5


async def test_a_complete_form_is_stored_once_and_a_second_submit_is_refused_politely(
    client: httpx.AsyncClient,
) -> None:
    path = path_for(client)
    response = await submit(client, path, COMPLETE)
    assert response.status_code == 200
    assert "提交成功" in response.text

    [answer] = await stored(client)
    assert (answer.hospital_id, answer.questionnaire_type, answer.visit_key) == ("253", "0", "524554251")
    assert (answer.dept_name, answer.doctor_name, answer.visited_time) == ("内科门诊", "华佗", "2020-05-18 10:37:50")
    assert answer.answers == {
        "overall": 5,
        "doctor": 4,
        "nurse": 5,
        "waiting": 3,
        "environment": 4,
        "recommend": "愿意",
        "comment": "挂号很方便 <b>谢谢</b>",
    }

    again = await submit(client, path, {**COMPLETE, "overall": "1"})
    assert again.status_code == 409
    assert "已提交" in again.text
    assert (await client.get(path)).status_code == 200
    assert "已提交" in (await client.get(path)).text
    [answer] = await stored(client)
    assert answer.answers["overall"] == 5


async def test_two_submits_racing_store_one_answer(client: httpx.AsyncClient) -> None:
    path = path_for(client)
    responses = await asyncio.gather(*(submit(client, path, COMPLETE) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    assert len(await stored(client)) == 1


async def test_missing_or_invalid_answers_show_the_form_again_with_what_was_given(
    client: httpx.AsyncClient,
) -> None:
    form = {**COMPLETE, "doctor": "", "nurse": "9", "recommend": "也许"}
    response = await submit(client, path_for(client), form)
    assert response.status_code == 400
    page = response.text
    for error in ("请回答此题", "请选择 1 到 5 分", "请从选项中选择"):
        assert error in page
    assert 'name="overall" value="5" checked' in page  # what was answered is kept
    assert "挂号很方便 &lt;b&gt;谢谢&lt;/b&gt;" in page  # and escaped
    assert await stored(client) == []


async def test_the_optional_comment_may_be_left_out(client: httpx.AsyncClient) -> None:
    form = {k: v for k, v in COMPLETE.items() if k != "comment"}
    assert (await submit(client, path_for(client), form)).status_code == 200
    [answer] = await stored(client)
    assert "comment" not in answer.answers


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_forged_edited_and_expired_links_get_a_not_found_page(client: httpx.AsyncClient, method: str) -> None:
    token = surveys_of(client).links.token(VISIT)
    body, _, mac = token.partition(".")
    expired = SurveyLinks(
        client._transport.app.state.settings.file_link_secret.get_secret_value().encode(),  # type: ignore[attr-defined]
        base_url="https://gateway.example",
        ttl_s=60,
        clock=lambda: time.time() - 3600,
    ).token(VISIT)
    other_secret = SurveyLinks(b"another-deployment-secret", base_url="https://x", ttl_s=600).token(VISIT)
    unknown_type = surveys_of(client).links.token(
        SurveyInvite(hospital_id="253", questionnaire_type="7", visit_key="1")
    )
    for bad in ("nonsense", f"{body}x.{mac}", expired, other_secret, unknown_type):
        response = await client.request(method, f"/survey/{bad}", content=urlencode(COMPLETE))
        assert response.status_code == 404, bad
        assert "问卷链接无效" in response.text
    assert await stored(client) == []


async def test_a_form_that_is_not_a_form_is_incomplete_not_an_error(client: httpx.AsyncClient) -> None:
    path = path_for(client)
    assert (await client.post(path, content="\xff\xfe".encode("latin-1"))).status_code == 400
    assert (await client.post(path, content=b"x" * 40_000)).status_code == 413
    assert (await client.post(path, json={"overall": 5})).status_code == 400
    assert await stored(client) == []


async def test_the_22_2_1_push_queues_a_message_linking_to_the_survey(client: httpx.AsyncClient) -> None:
    body = {
        "hospitalId": "253",
        "medicalCardNumber": "001000056254587",
        "idCard": "370102197907025236",
        "userName": "张三",
        "registerId": "524554251",
        "questionnaireType": "0",
        "deptCode": "31",
        "deptName": "内科门诊",
        "docCode": "001",
        "docName": "华佗",
        "visitedTime": "2020-05-18 10:37:50",
    }
    response = await client.post("/prefront/satisfactionSurveyAfterDiagnosis/sendSatisfactionSurveyMessage", json=body)
    assert response.json()["code"] == "10001", response.text
    async with surveys_of(client)._db.session() as session:
        [message] = (await session.execute(select(OutboundMessage))).scalars()
    assert message.dedupe_key == "22.2.1:253:524554251|0"  # the key the 22.1.1 job gives the same visit
    url = message.payload["surveyUrl"]
    assert url.startswith("https://gateway.example/survey/")
    page = await client.get(url.removeprefix("https://gateway.example"))
    assert page.status_code == 200
    assert "门诊满意度调查" in page.text
    assert "内科门诊" in page.text


async def test_operators_get_a_summary_of_the_answers(client: httpx.AsyncClient) -> None:
    await submit(client, path_for(client), COMPLETE)
    other = SurveyInvite(hospital_id="253", questionnaire_type="0", visit_key="2")
    await submit(client, path_for(client, other), {**COMPLETE, "overall": "4", "recommend": "不确定"})
    [summary] = await surveys_of(client).summaries(hospital_ids=["253"])
    assert (summary.hospital_id, summary.questionnaire_type, summary.responses) == ("253", "0", 2)
    by_id = {q.question_id: q for q in summary.questions}
    assert by_id["overall"].average == 4.5
    assert by_id["recommend"].choices == {"愿意": 1, "不确定": 1, "不愿意": 0}
    assert by_id["comment"].answered == 2
    assert await surveys_of(client).summaries(hospital_ids=["254"]) == []
