"""The after-visit satisfaction survey (chapter 22): questionnaires, signed links, answers, summaries.

The messages that invite patients are queued by the scheduled jobs (services.jobs, 22.1.1/22.1.2) or
by a hospital's push (22.2.1); each carries a link to ``GET /survey/{token}`` (api/survey.py).
"""

from .links import InvalidSurveyLink, SurveyInvite, SurveyLinks
from .questionnaires import DEFAULT_QUESTIONNAIRES, Question, Questionnaire, SurveysConfig
from .service import SubmitOutcome, Submitted, SurveyPage, SurveyService, SurveySummary

__all__ = [
    "DEFAULT_QUESTIONNAIRES",
    "InvalidSurveyLink",
    "Question",
    "Questionnaire",
    "SubmitOutcome",
    "Submitted",
    "SurveyInvite",
    "SurveyLinks",
    "SurveyPage",
    "SurveyService",
    "SurveySummary",
    "SurveysConfig",
]
