"""Answers to the after-visit satisfaction surveys (chapter 22), one row per visit or stay.

A survey message (22.1.x polled by our jobs, or 22.2.1 pushed by a hospital) carries a signed link
naming the hospital, the questionnaire type (0 outpatient, 1 inpatient) and the visit (registerId, or
the stay's inHospitalId). The row of that triple is unique: a visit is answered once. Nothing names
the patient: the department and doctor are kept for the hospital's summary, the answers as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime


class SurveyAnswer(Base):
    """One patient's answers to the questionnaire of one visit or stay."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("hospital_id", "questionnaire_type", "visit_key", name="uq_survey_answers_visit"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    hospital_id: Mapped[str] = mapped_column(String(64), index=True)
    questionnaire_type: Mapped[str] = mapped_column(String(8))
    """问卷类别 as 22.2.1 writes it: "0" outpatient (门诊), "1" inpatient (住院)."""
    visit_key: Mapped[str] = mapped_column(String(128))
    """The visit surveyed: 22.1.1's registerId, 22.1.2's inHospitalId, 22.2.1's registerId."""
    dept_code: Mapped[str | None] = mapped_column(String(64))
    dept_name: Mapped[str | None] = mapped_column(String(128))
    doctor_code: Mapped[str | None] = mapped_column(String(64))
    doctor_name: Mapped[str | None] = mapped_column(String(64))
    visited_time: Mapped[str | None] = mapped_column(String(19))
    """When the visit happened (or the stay ended), yyyy-MM-dd HH:mm:ss Beijing time as the hospital wrote it."""
    answers: Mapped[Any] = mapped_column(JSON)
    """``{question id: answer}``: an integer for a rating, the option's text for a choice, text for a comment."""
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SurveyAnswers:
    """Stores and reads `SurveyAnswer` rows inside the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, *, hospital_id: str, questionnaire_type: str, visit_key: str) -> SurveyAnswer | None:
        query = select(SurveyAnswer).where(
            SurveyAnswer.hospital_id == hospital_id,
            SurveyAnswer.questionnaire_type == questionnaire_type,
            SurveyAnswer.visit_key == visit_key,
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def add(self, answer: SurveyAnswer) -> bool:
        """Store `answer`; False when that visit was answered already (nothing is changed then)."""
        try:
            async with self._session.begin_nested():
                self._session.add(answer)
        except IntegrityError:
            return False
        return True

    async def since(
        self, *, hospital_ids: Sequence[str] | None, since: datetime | None, limit: int = 10_000
    ) -> list[SurveyAnswer]:
        """Answers newest first (``hospital_ids`` None: every hospital's; ``since`` None: all time)."""
        query = select(SurveyAnswer).order_by(SurveyAnswer.submitted_at.desc()).limit(limit)
        if hospital_ids is not None:
            query = query.where(SurveyAnswer.hospital_id.in_(list(hospital_ids)))
        if since is not None:
            query = query.where(SurveyAnswer.submitted_at >= since)
        return list((await self._session.execute(query)).scalars())
