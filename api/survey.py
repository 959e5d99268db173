"""``GET/POST /survey/{token}``: the satisfaction survey page a survey message links to (chapter 22).

Plain server-rendered HTML that reads well on a phone inside WeChat's browser: no script, one form,
radio buttons for ratings and choices. The token (services.surveys.links) names the visit; a link
that is forged or expired gets a "not found" page, a visit answered already gets "already answered"
(on a second submit too), a form with missing answers comes back with the answers kept and the
questions to fix marked. Nothing about the patient is shown or logged.

The page cannot be framed (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``: no clickjacking), and a
submit is taken only from the page itself: a browser's cross-site post (``Origin`` not ours, ``null``, or
``Sec-Fetch-Site: cross-site``/``same-site``) is refused with 403 before the form is read.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from resolvers.context import Services
from services.surveys import (
    InvalidSurveyLink,
    Question,
    SubmitOutcome,
    Submitted,
    SurveyInvite,
    SurveyLinks,
    SurveyPage,
    SurveyService,
)
from services.surveys.questionnaires import RATING_LABELS, RATING_SCALE, TEXT_LIMIT
from store.db import Database

from .settings import Settings

log = logging.getLogger("hisgraph.survey")

FORM_LIMIT: Final = 32 * 1024
"""Bytes a submitted form may have (the longest answers fit in a few kilobytes)."""

_HEADERS: Final = {
    "Cache-Control": "no-store",
    # The token is in the address: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    # For browsers that predate frame-ancestors: the page is never shown inside another site's frame.
    "X-Frame-Options": "DENY",
}

_STYLE: Final = """
body{margin:0;font:16px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f5f7;color:#222}
main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:20px;margin:8px 0}
.meta,.intro{color:#666;font-size:14px}
fieldset{border:0;background:#fff;border-radius:8px;margin:12px 0;padding:12px}
legend{font-weight:600;padding:0;float:left;width:100%;margin-bottom:8px}
.options{clear:both;display:flex;flex-wrap:wrap;gap:8px}
.options label{display:flex;align-items:center;gap:4px;background:#f4f5f7;border-radius:16px;padding:6px 12px}
textarea{box-sizing:border-box;width:100%;min-height:96px;font:inherit;clear:both}
.error{color:#c0392b;font-size:14px;clear:both}
.invalid{outline:2px solid #c0392b}
button{width:100%;padding:12px;font-size:17px;border:0;border-radius:8px;background:#07c160;color:#fff}
.notice{background:#fff;border-radius:8px;padding:24px;text-align:center;margin-top:24px}
"""


def make_survey_service(settings: Settings, db: Database) -> SurveyService:
    """The survey service of this deployment: links to ``{public_base_url}/survey/...``, signed with
    ``file_link_secret`` (set it in production: a per-process secret breaks links on restart)."""
    links = SurveyLinks(
        settings.file_link_secret.get_secret_value().encode(),
        base_url=settings.public_base_url,
        ttl_s=settings.surveys.link_ttl_days * 86_400,
    )
    return SurveyService(db=db, config=settings.surveys, links=links)


def _document(title: str, body: str, *, status: int) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title><style>{_STYLE}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _notice(title: str, message: str, *, status: int) -> HTMLResponse:
    return _document(
        title, f'<div class="notice"><h1>{escape(title)}</h1><p>{escape(message)}</p></div>', status=status
    )


def _not_found() -> HTMLResponse:
    # Forged, edited and expired links get the same page: a prober learns nothing from it.
    return _notice("问卷链接无效", "该问卷链接无效或已过期。如有疑问请联系就诊医院。", status=404)


def _already_answered(*, status: int) -> HTMLResponse:
    return _notice("您已完成本次问卷", "本次就诊的满意度问卷已提交，感谢您的参与！", status=status)


def _service(request: Request) -> SurveyService:
    services: Services = request.app.state.services
    assert services.surveys is not None  # create_app builds it
    return services.surveys


def _hospital_name(request: Request, hospital_id: str) -> str:
    services: Services = request.app.state.services
    hospital = services.registry.hospital(hospital_id)
    return hospital.name if hospital is not None else ""


def _question(question: Question, value: str, error: str | None) -> str:
    required = "" if question.required else "（选填）"
    parts = [f'<fieldset id="q-{question.id}"{" class=invalid" if error else ""}>']
    parts.append(f"<legend>{escape(question.text)}{required}</legend>")
    if question.kind == "text":
        parts.append(
            f'<textarea name="{question.id}" maxlength="{TEXT_LIMIT}" aria-label="{escape(question.text)}">'
            f"{escape(value)}</textarea>"
        )
    else:
        choices = (
            [(str(n), f"{n} {RATING_LABELS[n]}") for n in RATING_SCALE]
            if question.kind == "rating"
            else [(option, option) for option in question.options]
        )
        parts.append('<div class="options">')
        for choice, label in choices:
            checked = " checked" if choice == value else ""
            parts.append(
                f'<label><input type="radio" name="{question.id}" value="{escape(choice)}"{checked}>'
                f"{escape(label)}</label>"
            )
        parts.append("</div>")
    if error:
        parts.append(f'<p class="error">{escape(error)}</p>')
    parts.append("</fieldset>")
    return "".join(parts)


def _form(
    request: Request, page: SurveyPage, *, values: dict[str, str], errors: dict[str, str], status: int
) -> HTMLResponse:
    invite, questionnaire = page.invite, page.questionnaire
    about = [_hospital_name(request, invite.hospital_id), invite.dept_name or "", invite.doctor_name or ""]
    visited = f"就诊时间 {invite.visited_time}" if invite.visited_time else ""
    meta = " · ".join(part for part in (*about, visited) if part)
    body = [f"<h1>{escape(questionnaire.title)}</h1>"]
    if meta:
        body.append(f'<p class="meta">{escape(meta)}</p>')
    if questionnaire.intro:
        body.append(f'<p class="intro">{escape(questionnaire.intro)}</p>')
    if errors:
        body.append('<p class="error">还有题目未完成，请检查标红的题目。</p>')
    body.append('<form method="post">')
    body.extend(_question(q, values.get(q.id, ""), errors.get(q.id)) for q in questionnaire.questions)
    body.append('<button type="submit">提交</button></form>')
    return _document(questionnaire.title, "".join(body), status=status)


async def show_survey(request: Request) -> Response:
    """The questionnaire of the link's visit, or why it cannot be answered."""
    surveys = _service(request)
    try:
        page = await surveys.open(request.path_params["token"])
    except InvalidSurveyLink:
        return _not_found()
    if page.answered:
        return _already_answered(status=200)
    return _form(request, page, values={}, errors={}, status=200)


def _origin(url: str) -> str:
    """``scheme://host[:port]`` with the scheme's default port left out, lower case; "" when not a URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    try:
        port = parts.port
    except ValueError:
        return ""
    default = 443 if parts.scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _from_our_page(request: Request) -> bool:
    """Whether a submit comes from the survey page itself, as far as the browser tells: a form posted by
    another site (CSRF) carries that site's Origin, or ``null``, and ``Sec-Fetch-Site`` saying so."""
    fetch_site = request.headers.get("sec-fetch-site", "").strip().lower()
    if fetch_site in ("cross-site", "same-site"):
        return False
    sent = request.headers.get("origin")
    if sent is None:
        referer = request.headers.get("referer")
        if referer is None:
            return True  # not a browser (every browser sends Origin on a POST): nothing to forge
        sent = referer
    ours = {_origin(str(request.base_url)), _origin(request.app.state.settings.public_base_url)}
    return _origin(sent) in ours - {""}


async def submit_survey(request: Request) -> Response:
    """Store the answers once: thanks, already answered, or the form again with what is missing."""
    if not _from_our_page(request):
        log.warning("survey submit refused: cross-site", extra={"origin": request.headers.get("origin", "")})
        return _notice("无法提交", "请在问卷页面内提交。", status=403)
    surveys = _service(request)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > FORM_LIMIT:
            return _notice("提交内容过长", "请缩短您的意见后重新提交。", status=413)
    try:
        # Forms are ASCII (percent-encoded UTF-8); anything else is simply not a form.
        fields = parse_qsl(body.decode("ascii"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        fields = []
    form: dict[str, str] = {}
    for name, value in fields:
        form.setdefault(name, value)
    try:
        outcome: SubmitOutcome = await surveys.submit(request.path_params["token"], form)
    except InvalidSurveyLink:
        return _not_found()
    if outcome.result is Submitted.ALREADY_ANSWERED:
        return _already_answered(status=409)
    if outcome.result is Submitted.INCOMPLETE:
        return _form(request, outcome.page, values=form, errors=outcome.errors, status=400)
    invite = outcome.page.invite
    log.info("survey answered", extra={"hospital_id": invite.hospital_id, "questionnaire": invite.questionnaire_type})
    return _notice("提交成功", "感谢您参与本次满意度调查，祝您健康！", status=200)


routes = [
    Route("/survey/{token}", show_survey, methods=["GET"]),
    Route("/survey/{token}", submit_survey, methods=["POST"]),
]


def with_survey_url(request: Request, hospital_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A 22.2.1 push's payload with the link to its visit's survey page (``surveyUrl``), when its
    questionnaireType is one the spec has (0 outpatient, 1 inpatient) and it names the visit."""
    surveys = _service(request)
    questionnaire_type = str(payload.get("questionnaireType") or "").strip()
    visit_key = str(payload.get("registerId") or "").strip()
    if surveys.config.questionnaire(questionnaire_type) is None or not visit_key:
        return payload
    invite = SurveyInvite(
        hospital_id=hospital_id,
        questionnaire_type=questionnaire_type,
        visit_key=visit_key,
        dept_code=_text(payload.get("deptCode")),
        dept_name=_text(payload.get("deptName")),
        doctor_code=_text(payload.get("docCode")),
        doctor_name=_text(payload.get("docName")),
        visited_time=_text(payload.get("visitedTime")),
    )
    return {**payload, "surveyUrl": surveys.links.url(invite)}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
