"""The questionnaires of the after-visit satisfaction survey (chapter 22), one per questionnaire type.

22.2.1 names two types (问卷类别): ``"0"`` outpatient (门诊) and ``"1"`` inpatient (住院, sent after
discharge). The spec leaves the questions to the platform, so they are configuration (``surveys``
in api/settings.py, JSON in ``HISGRAPH_SURVEYS__QUESTIONNAIRES``), with `DEFAULT_QUESTIONNAIRES` when
nothing is set. A question is a rating (1 to 5 stars), a choice among options, or free text.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

QuestionKind = Literal["rating", "choice", "text"]

RATING_SCALE = (1, 2, 3, 4, 5)
RATING_LABELS = {1: "很不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "很满意"}
TEXT_LIMIT = 500
"""Characters a free-text answer may have."""


class Question(BaseModel):
    """One question of a questionnaire."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$")
    """Stable id: answers are stored under it, so change the wording freely but not the id."""
    text: str = Field(min_length=1, max_length=200)
    kind: QuestionKind = "rating"
    options: tuple[str, ...] = ()
    """The choices of a ``choice`` question."""
    required: bool = True

    @model_validator(mode="after")
    def _options_fit_kind(self) -> Self:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError(f"question {self.id}: a choice needs at least two options")
        if self.kind != "choice" and self.options:
            raise ValueError(f"question {self.id}: only a choice has options")
        return self

    def read(self, raw: str | None) -> tuple[Any, str | None]:
        """The answer to store from the submitted text, and an error to show (None when fine)."""
        value = (raw or "").strip()
        if not value:
            return None, ("请回答此题" if self.required else None)
        if self.kind == "rating":
            if value not in {str(n) for n in RATING_SCALE}:
                return None, "请选择 1 到 5 分"
            return int(value), None
        if self.kind == "choice":
            if value not in self.options:
                return None, "请从选项中选择"
            return value, None
        if len(value) > TEXT_LIMIT:
            return None, f"请不要超过 {TEXT_LIMIT} 字"
        return value, None


class Questionnaire(BaseModel):
    """The questions asked after one kind of visit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=100)
    intro: str = Field(default="", max_length=500)
    questions: tuple[Question, ...] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"questionnaire {self.title!r}: question ids repeat")
        return self

    def read_answers(self, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """The answers to store and the errors by question id (empty when the form is complete)."""
        answers: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for question in self.questions:
            value, error = question.read(form.get(question.id))
            if error is not None:
                errors[question.id] = error
            elif value is not None:
                answers[question.id] = value
        return answers, errors


_COMMON = (
    Question(id="overall", text="您对本次就医的总体满意度如何？"),
    Question(id="doctor", text="您对医生的诊疗服务是否满意？"),
    Question(id="nurse", text="您对护士的服务态度是否满意？"),
)

DEFAULT_QUESTIONNAIRES: dict[str, Questionnaire] = {
    "0": Questionnaire(
        title="门诊满意度调查",
        intro="感谢您来院就诊。请花一分钟告诉我们您的感受，帮助我们改进服务。",
        questions=(
            *_COMMON,
            Question(id="waiting", text="您对候诊等待时间是否满意？"),
            Question(id="environment", text="您对门诊环境和秩序是否满意？"),
            Question(
                id="recommend",
                text="您愿意向亲友推荐本院吗？",
                kind="choice",
                options=("愿意", "不确定", "不愿意"),
            ),
            Question(id="comment", text="您还有什么意见或建议？", kind="text", required=False),
        ),
    ),
    "1": Questionnaire(
        title="出院患者满意度调查",
        intro="祝您早日康复。请告诉我们您住院期间的感受，帮助我们改进服务。",
        questions=(
            *_COMMON,
            Question(id="ward", text="您对病房环境和卫生是否满意？"),
            Question(id="meals", text="您对住院期间的膳食服务是否满意？"),
            Question(id="billing", text="您对费用清单的清楚程度是否满意？"),
            Question(
                id="recommend",
                text="您愿意向亲友推荐本院吗？",
                kind="choice",
                options=("愿意", "不确定", "不愿意"),
            ),
            Question(id="comment", text="您还有什么意见或建议？", kind="text", required=False),
        ),
    ),
}

QUESTIONNAIRE_NAMES: dict[str, str] = {"0": "门诊", "1": "住院"}


class SurveysConfig(BaseModel):
    """How the satisfaction survey works: its questionnaires and how long a link stays valid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link_ttl_days: int = Field(default=14, ge=1, le=90)
    """Days a survey link can be opened after its message was queued."""
    questionnaires: dict[str, Questionnaire] = Field(default_factory=dict)
    """Questionnaire per type ("0" outpatient, "1" inpatient); a type left out keeps its default."""

    @field_validator("questionnaires")
    @classmethod
    def _known_types(cls, value: dict[str, Questionnaire]) -> dict[str, Questionnaire]:
        unknown = sorted(set(value) - set(QUESTIONNAIRE_NAMES))
        if unknown:
            raise ValueError(f"questionnaire types are 0 (outpatient) and 1 (inpatient), not {unknown}")
        return value

    def questionnaire(self, questionnaire_type: str) -> Questionnaire | None:
        """The questionnaire of a type, None for a type the spec does not have."""
        return self.questionnaires.get(questionnaire_type) or DEFAULT_QUESTIONNAIRES.get(questionnaire_type)
