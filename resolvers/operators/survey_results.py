"""Operators' view of the satisfaction survey (chapter 22): responses and scores per hospital and type.

Answers are anonymous (no patient is named in them); a hospital operator sees only their own hospital's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

import strawberry

from services.identity.principal import OperatorPrincipal
from services.surveys import SurveySummary
from services.surveys.questionnaires import QUESTIONNAIRE_NAMES
from services.surveys.service import QuestionSummary

from ..access import Forbidden
from ..arguments import beijing
from ..context import Info
from ..fanout import hospital_ids_argument
from ..records.common import coded


@strawberry.enum(description="What kind of answer a survey question takes.")
class SurveyQuestionKind(Enum):
    RATING = strawberry.enum_value("rating", description="A rating from 1 to 5.")
    CHOICE = strawberry.enum_value("choice", description="One of the questionnaire's options.")
    TEXT = strawberry.enum_value("text", description="Free text.")


@strawberry.enum(description="Which questionnaire (问卷类别, 22.x questionnaireType).")
class QuestionnaireKind(Enum):
    OUTPATIENT = strawberry.enum_value("0", description="门诊: after an outpatient visit.")
    INPATIENT = strawberry.enum_value("1", description="住院: after an inpatient stay.")


@strawberry.type(description="How many patients chose one option of a choice question.")
class SurveyChoiceCount:
    option: str = strawberry.field(description="The option's text, as the questionnaire words it.")
    count: int = strawberry.field(description="How many chose it.")


@strawberry.type(description="How one question was answered.")
class SurveyQuestionResult:
    question_id: str = strawberry.field(description="The question's stable id in the questionnaire configuration.")
    text: str = strawberry.field(description="The question as the questionnaire words it now.")
    kind: SurveyQuestionKind | None = strawberry.field(
        description="RATING (1-5), CHOICE or TEXT; null for a kind this build does not know."
    )
    answered: int = strawberry.field(description="How many responses answered it.")
    average: float | None = strawberry.field(description="The mean rating (1-5) of a rating question; null otherwise.")
    choices: list[SurveyChoiceCount] = strawberry.field(description="For a choice question, the count of each option.")

    @classmethod
    def from_summary(cls, summary: QuestionSummary) -> SurveyQuestionResult:
        return cls(
            question_id=summary.question_id,
            text=summary.text,
            kind=coded(SurveyQuestionKind, summary.kind),
            answered=summary.answered,
            average=summary.average,
            choices=[SurveyChoiceCount(option=o, count=n) for o, n in summary.choices.items()],
        )


@strawberry.type(
    description="The satisfaction survey answers (诊后满意度调查) of one hospital for one questionnaire type."
)
class SurveyResult:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital surveyed.")
    questionnaire_type: QuestionnaireKind | None = strawberry.field(
        description="问卷类别: OUTPATIENT (门诊, 0) or INPATIENT (住院, 1); null for a type this build does not know."
    )
    questionnaire_name: str = strawberry.field(description="门诊 or 住院.")
    responses: int = strawberry.field(description="How many visits were rated.")
    questions: list[SurveyQuestionResult] = strawberry.field(description="Each question of the questionnaire.")

    @classmethod
    def from_summary(cls, summary: SurveySummary) -> SurveyResult:
        return cls(
            hospital_id=strawberry.ID(summary.hospital_id),
            questionnaire_type=coded(QuestionnaireKind, summary.questionnaire_type),
            questionnaire_name=QUESTIONNAIRE_NAMES.get(summary.questionnaire_type, ""),
            responses=summary.responses,
            questions=[SurveyQuestionResult.from_summary(q) for q in summary.questions],
        )


async def survey_results(
    info: Info,
    hospital_id: Annotated[
        str | None,
        strawberry.argument(
            description="Only these hospitals (comma-separated ids); a hospital operator sees only their own."
        ),
    ] = None,
    from_: Annotated[
        datetime | None,
        strawberry.argument(
            name="from",
            description="Only answers submitted at or after this time (Beijing time when it has no offset).",
        ),
    ] = None,
) -> list[SurveyResult] | None:
    principal = info.context.principal
    if not isinstance(principal, OperatorPrincipal):  # pragma: no cover - Query.operator checks it
        raise Forbidden("operators only")
    surveys = info.context.services.surveys
    if surveys is None:
        return []
    hospital_ids: list[str] | None
    if hospital_id is not None:
        hospital_ids = hospital_ids_argument(info, hospital_id)
    elif principal.role == "region":
        hospital_ids = None
    else:
        hospital_ids = [principal.hospital_id or ""]
    since = None if from_ is None else beijing(from_).astimezone(UTC)
    summaries = await surveys.summaries(hospital_ids=hospital_ids, since=since)
    return [SurveyResult.from_summary(s) for s in summaries]


survey_results_field = strawberry.field(
    resolver=survey_results,
    description=(
        "Satisfaction survey results per hospital and questionnaire type (22.x): responses, mean ratings, "
        "choice counts. Answers are anonymous."
    ),
)
