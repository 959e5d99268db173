"""The satisfaction survey itself: open a link, take the answers once, sum them up for operators.

A link (services.surveys.links) stands for one visit; its page shows the questionnaire of the visit's
type, or "already answered" once a row for the visit exists. Answers are checked against the
questionnaire (a rating 1-5, one of a choice's options, text of bounded length) and stored with the
visit's hospital, type and key, never the patient's identity. Two submissions racing for the same
visit store one: the unique row decides, and the loser is told it was answered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from store.db import Database
from store.models import utcnow
from store.surveys import SurveyAnswer, SurveyAnswers

from .links import InvalidSurveyLink, SurveyInvite, SurveyLinks
from .questionnaires import Question, Questionnaire, SurveysConfig


@dataclass(frozen=True, slots=True)
class SurveyPage:
    """What the survey page shows for a link."""

    invite: SurveyInvite
    questionnaire: Questionnaire
    answered: bool


class Submitted(StrEnum):
    STORED = "stored"
    ALREADY_ANSWERED = "already_answered"
    INCOMPLETE = "incomplete"
    """Some answers are missing or invalid: the page is shown again with `errors`."""


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    result: Submitted
    page: SurveyPage
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuestionSummary:
    """How one question was answered: the mean of a rating, the count of each choice, how many answered."""

    question_id: str
    text: str
    kind: str
    answered: int
    average: float | None = None
    choices: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SurveySummary:
    """The answers of one hospital to one questionnaire type."""

    hospital_id: str
    questionnaire_type: str
    responses: int
    questions: list[QuestionSummary]


class SurveyService:
    """Survey pages, answers and summaries."""

    def __init__(self, *, db: Database, config: SurveysConfig, links: SurveyLinks) -> None:
        self._db = db
        self.config = config
        self.links = links

    async def open(self, token: str) -> SurveyPage:
        """The page of a link; raises InvalidSurveyLink (forged, expired or of an unknown type)."""
        invite = self.links.read(token)
        questionnaire = self.config.questionnaire(invite.questionnaire_type)
        if questionnaire is None:
            raise InvalidSurveyLink("unknown questionnaire type")
        async with self._db.session() as session:
            existing = await SurveyAnswers(session).find(
                hospital_id=invite.hospital_id,
                questionnaire_type=invite.questionnaire_type,
                visit_key=invite.visit_key,
            )
        return SurveyPage(invite=invite, questionnaire=questionnaire, answered=existing is not None)

    async def submit(self, token: str, form: dict[str, str]) -> SubmitOutcome:
        """Store a link's answers once; raises InvalidSurveyLink."""
        page = await self.open(token)
        if page.answered:
            return SubmitOutcome(Submitted.ALREADY_ANSWERED, page)
        answers, errors = page.questionnaire.read_answers(form)
        if errors:
            return SubmitOutcome(Submitted.INCOMPLETE, page, errors)
        invite = page.invite
        row = SurveyAnswer(
            hospital_id=invite.hospital_id,
            questionnaire_type=invite.questionnaire_type,
            visit_key=invite.visit_key,
            dept_code=invite.dept_code,
            dept_name=invite.dept_name,
            doctor_code=invite.doctor_code,
            doctor_name=invite.doctor_name,
            visited_time=invite.visited_time,
            answers=answers,
            submitted_at=utcnow(),
        )
        async with self._db.session() as session:
            stored = await SurveyAnswers(session).add(row)
        answered = SurveyPage(invite=invite, questionnaire=page.questionnaire, answered=True)
        return SubmitOutcome(Submitted.STORED if stored else Submitted.ALREADY_ANSWERED, answered)

    async def summaries(
        self, *, hospital_ids: Sequence[str] | None, since: datetime | None = None
    ) -> list[SurveySummary]:
        """Per hospital and questionnaire type: responses, mean ratings, choice counts (the questionnaires
        as configured now; answers to questions since removed are left out)."""
        async with self._db.session() as session:
            rows = await SurveyAnswers(session).since(hospital_ids=hospital_ids, since=since)
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            grouped[(row.hospital_id, row.questionnaire_type)].append(dict(row.answers or {}))
        summaries = []
        for (hospital_id, questionnaire_type), answers in sorted(grouped.items()):
            questionnaire = self.config.questionnaire(questionnaire_type)
            questions = [] if questionnaire is None else [_summarise(q, answers) for q in questionnaire.questions]
            summaries.append(SurveySummary(hospital_id, questionnaire_type, len(answers), questions))
        return summaries


def _summarise(question: Question, answers: list[dict[str, Any]]) -> QuestionSummary:
    values = [a[question.id] for a in answers if a.get(question.id) not in (None, "")]
    if question.kind == "rating":
        ratings = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        average = round(sum(ratings) / len(ratings), 2) if ratings else None
        return QuestionSummary(question.id, question.text, question.kind, len(ratings), average=average)
    if question.kind == "choice":
        counts = Counter(str(v) for v in values)
        return QuestionSummary(
            question.id, question.text, question.kind, len(values), choices={o: counts[o] for o in question.options}
        )
    return QuestionSummary(question.id, question.text, question.kind, len(values))
