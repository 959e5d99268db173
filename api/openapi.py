"""The shims' OpenAPI 3.1 document, generated at start-up, never written by hand (issue 16 item 1).

``build_document(routes)`` walks the routes the gateway serves under ``/prefront`` and, for each, the
``direction: platform`` entries of spec/interfaces.json with that path (9.1.1 and 13.2.1 share one):

- the request schema is the shim's own validation rules (``api/shims/validation.rules_for``): each
  field with the spec's description (Chinese kept), required or not, its kind, its format (dates and
  times as the spec writes them, amounts, dictionary codes, ID numbers) and closed sets; keys match in
  any case, and the aliases the shims accept are listed;
- the response schema follows the entry's reply example and response table (descriptions, required);
- the 附四 codes a path may answer: those every shim answers (validation, authentication, busy, our own
  failure), those its module raises, and those its catalog entry names;
- the spec's own request and reply examples;
- the authentication options of api/shims/auth.py as security schemes (IP allowlist, API key, HMAC).

The WebService endpoint (``/prefront/services/prefrontWebService``, SOAP) is listed too, with its WSDL.
The document is served at ``/prefront/openapi.json`` and rendered as plain HTML, offline and without a
script, at ``/prefront/docs`` (``render_html``).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import html
import inspect
import json
import re
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from his_clients.codes import ReturnCode

from .guards import kind_of, refusals_of_a_served_path, upload_paths
from .shims import auth
from .shims.validation import _AMOUNT, MAX_AMOUNT, EntryRules, FieldRule, _codes, catalog, rules_for
from .webservice import PATH as WEBSERVICE_PATH

OPENAPI_PATH: Final = "/prefront/openapi.json"
DOCS_PATH: Final = "/prefront/docs"
SHIM_PREFIX: Final = "/prefront/"

COMMON_CODES: Final = (
    ReturnCode.SUCCESS,
    ReturnCode.SYSTEM_ERROR,
    ReturnCode.MISSING_PARAMETER,
    ReturnCode.PARAMETER_TYPE,
    ReturnCode.PARAMETER_FORMAT,
    ReturnCode.PARAMETER_RANGE,
    ReturnCode.BUSY,
    ReturnCode.UNAUTHORIZED,
)
"""What every shim may answer: success, our own failure, the four validation codes, rate limit, auth."""

_DATETIME_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$"
_FORMATS: Final[dict[str, dict[str, Any]]] = {
    "datetime": {"pattern": _DATETIME_PATTERN, "description": "yyyy-MM-dd HH:mm:ss（也接受 yyyy-MM-dd HH:mm 或日期）"},
    "date": {"format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "yyyy-MM-dd"},
    "compact_date": {"pattern": r"^\d{8}$", "description": "yyyyMMdd"},
    "hhmm": {"pattern": r"^\d{1,2}:\d{2}$", "description": "HH:mm"},
    "amount": {"pattern": _AMOUNT.pattern, "description": f"金额（元），最多两位小数，绝对值不超过 {MAX_AMOUNT}"},
    "id_number": {"pattern": r"^(\d{17}[0-9Xx]|\d{15})$", "description": "15或18位身份证号，含有效出生日期"},
}
_DICTIONARIES: Final = {"nation": "nation", "relation": "relationship", "id_document_type": "id_document_type"}
_CODE_IN_TEXT: Final = re.compile(r"(?<!\d)([1-6]\d{4})(?!\d)")
_SPEC_FIELDS: Final = frozenset({"success", "msg", "code", "message", "status", "data"})


def _entries_by_path() -> dict[str, list[dict[str, Any]]]:
    by_path: dict[str, list[dict[str, Any]]] = {}
    for entry in catalog():
        if entry["direction"] == "platform" and entry.get("http_path"):
            by_path.setdefault("/" + str(entry["http_path"]).strip("/"), []).append(entry)
    return by_path


def shim_routes(routes: Iterable[BaseRoute]) -> dict[str, Route]:
    """The served shim routes (``/prefront/...``, the WebService included), by path."""
    return {
        route.path: route
        for route in routes
        if isinstance(route, Route)
        and route.path.startswith(SHIM_PREFIX)
        and route.path not in (OPENAPI_PATH, DOCS_PATH)
    }


# --- request schemas, from the shims' validation rules -----------------------------------------------------


def _descriptions(entry: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for param in entry["params"]:
        found.setdefault(str(param["name"]).strip().lower(), str(param["description"]))
    return found


def _field_schema(
    rule: FieldRule, rules: EntryRules, descriptions: dict[str, str], spelling: dict[str, str]
) -> dict[str, Any]:
    description = descriptions.get(rule.name.strip().lower(), "")
    notes: list[str] = []
    schema: dict[str, Any]
    if rule.kind == "list":
        members = rules.items.get(rule.name, ())
        item: dict[str, Any] = _object_schema(members, rules, descriptions, spelling) if members else {}
        schema = {"type": "array", "items": item}
    elif rule.kind == "object":
        members = rules.items.get(rule.name, ())
        schema = _object_schema(members, rules, descriptions, spelling) if members else {"type": "object"}
    else:
        schema = {"type": ["string", "number"] if rule.numeric_ok else "string"}
        if rule.numeric_ok:
            notes.append("也接受JSON数字")
        if rule.fmt in _FORMATS:
            shape = dict(_FORMATS[rule.fmt])
            notes.append(f"格式: {shape.pop('description')}")
            schema.update(shape)
            if rule.fmt == "amount" and not rule.negative_ok:
                notes.append("不能为负数")
        elif rule.fmt in _DICTIONARIES:
            schema["enum"] = sorted(_codes(_DICTIONARIES[rule.fmt]))
        if rule.enum is not None:
            schema["enum"] = sorted(rule.enum)
    if rule.required_unless is not None:
        notes.append(f"{rule.required_unless} 为空时必传")
    if rule.required_when is not None:
        notes.append(f"{rule.required_when[0]} 为 {rule.required_when[1]} 时必传")
    if rule.aliases:
        notes.append("也可写作 " + "、".join(rule.aliases))
    schema["description"] = "；".join(part for part in (description, *notes) if part)
    return schema


def _object_schema(
    fields: Sequence[FieldRule], rules: EntryRules, descriptions: dict[str, str], spelling: dict[str, str]
) -> dict[str, Any]:
    """The object the shim checks. Keys are matched in any case: each is named as the spec's example spells it
    (what a caller copies), the table's spelling and the aliases the shim accepts noted, and a required field
    that has an alias is required as one of its names."""
    properties: dict[str, Any] = {}
    all_of: list[dict[str, Any]] = []
    required: list[str] = []
    names: dict[str, str] = {}
    for rule in fields:
        name = spelling.get(rule.name.strip().lower(), rule.name)
        names[rule.name] = name
        schema = _field_schema(rule, rules, descriptions, spelling)
        if name != rule.name:
            schema["description"] = "；".join(p for p in (schema["description"], f"表中写作 {rule.name}") if p)
        properties[name] = schema
        for alias in rule.aliases:
            properties[alias] = {**schema, "description": f"同 {name}（别名）"}
        if rule.required and rule.aliases:
            all_of.append({"anyOf": [{"required": [n]} for n in (name, *rule.aliases)]})
        elif rule.required:
            required.append(name)
    out: dict[str, Any] = {
        "type": "object",
        "description": "参数名不区分大小写",
        "properties": properties,
        "additionalProperties": True,
    }
    if required:
        out["required"] = required
    present = [names[name] for name in rules.one_of if name in names]
    if present and len(present) == len(rules.one_of):
        all_of.append({"anyOf": [{"required": [name]} for name in present]})
    if all_of:
        out["allOf"] = all_of
    return out


def _spelling(example: Any, found: dict[str, str] | None = None) -> dict[str, str]:
    """Each key of the spec's example (nested ones too), by its lower-case form, as the example spells it."""
    found = {} if found is None else found
    if isinstance(example, list):
        for item in example[:1]:
            _spelling(item, found)
    elif isinstance(example, dict):
        for key, value in example.items():
            if isinstance(key, str):
                found.setdefault(key.strip().lower(), key.strip())
            _spelling(value, found)
    return found


def request_schema(entry: dict[str, Any]) -> dict[str, Any]:
    """What the shim checks for this section: a JSON object, or an array of them (21.1.x uploads)."""
    rules = rules_for(str(entry["section"]))
    schema = _object_schema(rules.fields, rules, _descriptions(entry), _spelling(entry["request_example"]))
    schema["title"] = f"{entry['section']} {entry['title']}"
    if isinstance(entry["request_example"], list):
        return {"title": schema.pop("title"), "type": "array", "items": schema}
    return schema


# --- response schemas, from the reply example and table -----------------------------------------------------


def _response_descriptions(entry: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    found: dict[str, tuple[bool, str]] = {}
    for item in entry["response_fields"]:
        found.setdefault(str(item["name"]).strip().lower(), (bool(item["required"]), str(item["description"])))
    return found


def _example_schema(value: Any, described: dict[str, tuple[bool, str]], *, top: bool = False) -> dict[str, Any]:
    if isinstance(value, dict):
        properties: dict[str, Any] = {}
        required: list[str] = []
        for key, member in value.items():
            name = str(key)
            schema = _example_schema(member, described)
            is_required, description = described.get(name.strip().lower(), (False, ""))
            if description:
                schema["description"] = description
            if name == "data" and top:
                schema = {"anyOf": [schema, {"type": "null"}], "description": description or "业务数据"}
            elif is_required and (not top or name in _SPEC_FIELDS):
                required.append(name)
            properties[name] = schema
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        return out
    if isinstance(value, list):
        return {"type": "array", "items": _example_schema(value[0], described) if value else {}}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, (int, float)):
        return {"type": ["number", "string"]}
    if isinstance(value, str):
        return {"type": ["string", "number", "null"]}
    return {}


def response_schema(entry: dict[str, Any], codes: Sequence[ReturnCode]) -> dict[str, Any]:
    """The reply: the entry's success shape, or the refusal envelope; ``code`` one of ``codes``."""
    example = entry["response_example"] if isinstance(entry["response_example"], dict) else {}
    success = _example_schema(
        example or {"success": True, "msg": "成功", "code": "10001"}, _response_descriptions(entry), top=True
    )
    code: dict[str, Any] = {
        "type": "string",
        "enum": [c.value for c in codes],
        "description": "参照附四: " + _codes_text(codes),
    }
    if "code" in success["properties"]:
        success["properties"]["code"] = code
        if isinstance(example.get("code"), int) and not isinstance(example.get("code"), bool):
            # The spec's example types the success code as a number (36.2.1), and the shim answers as it does.
            success["properties"]["code"] = {
                "type": ["string", "integer"],
                "enum": [c.value for c in codes] + [int(c.value) for c in codes],
                "description": code["description"],
            }
    upload = "message" in success["properties"] and "msg" not in success["properties"]
    success["title"] = "成功"
    return {"anyOf": [success, refusal_schema(code, upload=upload)]}


def refusal_schema(code: dict[str, Any], *, upload: bool) -> dict[str, Any]:
    """The refusal envelope: ``{success: false, msg, code, data: null}``, or for 21.1.x uploads
    ``{success: false, message, status: -1, code}``."""
    if upload:
        properties: dict[str, Any] = {
            "success": {"const": False},
            "message": {"type": "string"},
            "status": {"const": -1},
            "code": code,
        }
        required = ["success", "message", "status", "code"]
    else:
        properties = {"success": {"const": False}, "msg": {"type": "string"}, "code": code, "data": {"type": "null"}}
        required = ["success", "msg", "code"]
    return {"type": "object", "title": "拒绝", "properties": properties, "required": required}


def guard_responses(path: str) -> dict[str, Any]:
    """What the request guard (api/guards.py) answers instead of this path's handler, by HTTP status: a wrong
    method, a cross-site mark, a wrong Content-Type, an invalid Content-Length, a body over the limit. Shims in
    the spec's envelope with the refusal's code; the WebService a SOAP Fault."""
    kind = kind_of(path, upload_paths())
    responses: dict[str, Any] = {}
    for refusal in refusals_of_a_served_path(kind):
        description = f"请求未进入接口即被拒绝: {refusal.message}（code {refusal.code.value} {refusal.code.meaning}）"
        if kind == "soap":
            content: dict[str, Any] = {"text/xml": {"schema": {"type": "string", "description": "SOAP Fault"}}}
        else:
            code = {"const": refusal.code.value, "description": f"{refusal.code.value} {refusal.code.meaning}"}
            content = {"application/json": {"schema": refusal_schema(code, upload=kind == "upload")}}
        responses[str(refusal.status)] = {"description": description, "content": content}
    return responses


# --- codes per path ------------------------------------------------------------------------------------------


def _module_codes(route: Route) -> set[ReturnCode]:
    """The ReturnCode members named in the module whose ``routes`` hold this route."""
    for name, module in list(sys.modules.items()):
        if name.startswith("api.shims.") and route in getattr(module, "routes", ()):
            return set(_codes_named_in(name))
    return set()


@cache
def _codes_named_in(module_name: str) -> frozenset[ReturnCode]:
    """``ReturnCode.X`` written anywhere in this module's source (read once per process)."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(sys.modules[module_name]))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ReturnCode":
            member = ReturnCode.__members__.get(node.attr)
            if member is not None:
                found.add(member)
    return frozenset(found)


def _entry_codes(entry: dict[str, Any]) -> set[ReturnCode]:
    text = json.dumps([entry["description"], entry["notes"], entry["response_fields"]], ensure_ascii=False)
    values = {code.value: code for code in ReturnCode}
    return {values[match] for match in _CODE_IN_TEXT.findall(text) if match in values}


def _codes_text(codes: Sequence[ReturnCode]) -> str:
    return "；".join(f"{code.value} {code.meaning}" for code in codes)


# --- security schemes, from api/shims/auth.py ---------------------------------------------------------------


def security_schemes() -> dict[str, Any]:
    guide = inspect.getdoc(auth) or ""
    integrator = guide.split("For a shim author")[0].split("For a hospital integrator")[-1].strip("-\n ")
    return {
        "IpAllowlist": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Hospital-Id",
            "description": (
                "auth = none: 调用来自医院登记的 allowed_ips 之一即可，无需其他凭据；X-Hospital-Id 可选，"
                "一个地址代多家医院调用时用它指明医院（或在请求体的 hospitalId 中指明）。"
            ),
        },
        "HospitalId": {"type": "apiKey", "in": "header", "name": "X-Hospital-Id", "description": "平台分配的医院ID"},
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "auth = api_key: 医院的密钥"},
        "HmacTimestamp": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Timestamp",
            "description": "auth = hmac: Unix 秒（UTC），与平台时钟相差不超过300秒",
        },
        "HmacNonce": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Nonce",
            "description": "auth = hmac: 8-128位 A-Z a-z 0-9 - _ . ，不得重复使用",
        },
        "HmacSignature": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": "auth = hmac: HMAC-SHA256 签名。\n\n" + integrator,
        },
    }


SECURITY: Final[list[dict[str, list[str]]]] = [
    {"IpAllowlist": []},
    {"HospitalId": [], "ApiKey": []},
    {"HospitalId": [], "HmacTimestamp": [], "HmacNonce": [], "HmacSignature": []},
]


# --- the document ---------------------------------------------------------------------------------------------


def _operation(path: str, route: Route, entries: list[dict[str, Any]]) -> dict[str, Any]:
    codes_found = set(COMMON_CODES) | _module_codes(route)
    codes_found |= {refusal.code for refusal in refusals_of_a_served_path(kind_of(path, upload_paths()))}
    for entry in entries:
        codes_found |= _entry_codes(entry)
    codes = sorted(codes_found, key=lambda code: code.value)
    first = entries[0]
    sections = " / ".join(str(entry["section"]) for entry in entries)
    description = "\n\n".join(
        part
        for entry in entries
        for part in (
            f"**{entry['section']} {entry['title']}**",
            str(entry["description"] or ""),
            *(str(note) for note in entry["notes"]),
        )
        if part
    )
    requests = [request_schema(entry) for entry in entries]
    request = requests[0] if len(requests) == 1 else {"anyOf": requests}
    responses = [response_schema(entry, codes) for entry in entries]
    response = responses[0] if len(responses) == 1 else {"anyOf": responses}
    request_examples = {
        f"s{entry['section']}": {"summary": f"{entry['section']} 规范示例", "value": entry["request_example"]}
        for entry in entries
        if entry["request_example"] is not None
    }
    response_examples = {
        f"s{entry['section']}": {"summary": f"{entry['section']} 规范示例", "value": entry["response_example"]}
        for entry in entries
        if entry["response_example"] is not None
    }
    request_content: dict[str, Any] = {"schema": request}
    if request_examples:
        request_content["examples"] = request_examples
    response_content: dict[str, Any] = {"schema": response}
    if response_examples:
        response_content["examples"] = response_examples
    return {
        "operationId": "s" + "_".join(str(entry["section"]).replace(".", "_") for entry in entries),
        "summary": f"{sections} {first['title']}",
        "description": description,
        "tags": [str(first["chapter"])],
        "security": SECURITY,
        "requestBody": {"required": True, "content": {"application/json": request_content}},
        "responses": {
            "200": {
                "description": "规范的应答（HTTP 200）。code 取值: " + _codes_text(codes),
                "content": {"application/json": response_content},
            },
            **guard_responses(path),
        },
        "x-spec-sections": [str(entry["section"]) for entry in entries],
        "x-return-codes": [{"code": code.value, "meaning": code.meaning} for code in codes],
    }


def _webservice_path() -> dict[str, Any]:
    xml = {"text/xml": {"schema": {"type": "string"}}}
    return {
        "get": {
            "operationId": "webserviceWsdl",
            "summary": "WebService 的 WSDL（?wsdl）",
            "description": "prefront/services/prefrontWebService?Wsdl: 每个有 WebService 方法的接口一个操作。",
            "tags": ["WebService"],
            "responses": {"200": {"description": "WSDL", "content": xml}},
        },
        "post": {
            "operationId": "webserviceCall",
            "summary": "WebService（SOAP 1.1）调用",
            "description": (
                "请求 <op><param>JSON</param></op>，应答 <opResponse><return>JSON</return></opResponse>；"
                "JSON 与对应的 http 接口相同，认证方式也相同（hmac 签名的请求体是 param 中的 JSON 文本）。"
            ),
            "tags": ["WebService"],
            "security": SECURITY,
            "requestBody": {"required": True, "content": xml},
            "responses": {
                "200": {"description": "SOAP 应答", "content": xml},
                "500": {"description": "SOAP Fault: 信封无效或操作不存在", "content": xml},
                **guard_responses(WEBSERVICE_PATH),
            },
        },
    }


def build_document(routes: Iterable[BaseRoute], *, server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every shim these routes serve (see the module docstring)."""
    by_path = _entries_by_path()
    paths: dict[str, Any] = {}
    for path, route in sorted(shim_routes(routes).items()):
        if path == WEBSERVICE_PATH:
            paths[path] = _webservice_path()
            continue
        entries = by_path.get(path)
        if not entries:
            raise ValueError(f"{path} is served but no platform entry of the catalog names it")
        paths[path] = {"post": _operation(path, route, entries)}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "hisgraph 前置机接口（医院调用）",
            "version": "1.0",
            "description": (
                "医院调用平台的 prefront 接口。由 spec/interfaces.json 与平台的校验规则在启动时生成。"
                "每个接口都以 HTTP 200 应答规范的信封 {success, msg, code, data}"
                "（21.1.x 为 {success, message, status}），"
                "code 参照附四。参数名不区分大小写。"
            ),
        },
        "paths": paths,
        "components": {"securitySchemes": security_schemes()},
    }
    if server_url:
        document["servers"] = [{"url": server_url.rstrip("/")}]
    return document


# --- serving -----------------------------------------------------------------------------------------------------

_STYLE: Final = (
    "body{font-family:sans-serif;margin:2em auto;max-width:70em;line-height:1.5}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}"
    "pre{background:#f4f4f4;padding:.5em;overflow:auto}code{background:#f4f4f4}"
    "h2{border-top:1px solid #999;padding-top:1em}"
)
_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
DOCS_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        f"style-src 'sha256-{_STYLE_HASH}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""The docs page has no script at all, one hashed style block, and loads nothing (its icon is an empty data: URL)."""


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _fields_table(schema: dict[str, Any], prefix: str = "") -> list[str]:
    if schema.get("type") == "array":
        return _fields_table(schema.get("items", {}), prefix + "[]")
    rows: list[str] = []
    required = set(schema.get("required", ()))
    either = {n for group in schema.get("allOf", ()) for alt in group.get("anyOf", ()) for n in alt.get("required", ())}
    for name, member in schema.get("properties", {}).items():
        kind = member.get("type", "")
        kind = "/".join(kind) if isinstance(kind, list) else kind
        extra = f" pattern <code>{_esc(member['pattern'])}</code>" if "pattern" in member else ""
        if "enum" in member:
            extra += " 取值 " + _esc(", ".join(map(str, member["enum"])))
        needed = "是" if name in required else "其一" if name in either else ""
        rows.append(
            f"<tr><td><code>{_esc(prefix + name)}</code></td><td>{_esc(kind)}</td>"
            f"<td>{needed}</td><td>{_esc(member.get('description', ''))}{extra}</td></tr>"
        )
        for inner in (member, member.get("items", {})):
            if isinstance(inner, dict) and inner.get("properties"):
                rows += _fields_table(inner, prefix + name + ("[]." if inner is not member else "."))
    return rows


def render_html(document: dict[str, Any]) -> str:
    """The document as one HTML page: no script, no external resource."""
    parts = [
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>{_esc(document['info']['title'])}</title>",
        f"<link rel='icon' href='data:,'><style>{_STYLE}</style></head><body>",
        f"<h1>{_esc(document['info']['title'])}</h1><p>{_esc(document['info']['description'])}</p>",
        f"<p>机器可读的文档: <a href='{OPENAPI_PATH}'>{OPENAPI_PATH}</a></p>",
        "<h2 id='auth'>认证方式</h2><dl>",
    ]
    for name, scheme in document["components"]["securitySchemes"].items():
        parts.append(f"<dt><code>{_esc(name)}</code>: header <code>{_esc(scheme['name'])}</code></dt>")
        parts.append(f"<dd><pre>{_esc(scheme['description'])}</pre></dd>")
    parts.append("</dl><h2>接口</h2><ul>")
    parts += [f"<li><a href='#{_esc(path)}'>{_esc(path)}</a></li>" for path in document["paths"]]
    parts.append("</ul>")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            parts.append(f"<h2 id='{_esc(path)}'>{_esc(method.upper())} {_esc(path)}</h2>")
            parts.append(
                f"<p><b>{_esc(operation['summary'])}</b></p><pre>{_esc(operation.get('description', ''))}</pre>"
            )
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schemas = body["schema"].get("anyOf", [body["schema"]])
                for schema in schemas:
                    parts.append(f"<h3>请求 {_esc(schema.get('title', ''))}</h3>")
                    parts.append("<table><tr><th>字段</th><th>类型</th><th>必填</th><th>说明</th></tr>")
                    parts += _fields_table(schema)
                    parts.append("</table>")
                for example in body.get("examples", {}).values():
                    parts.append(f"<h3>请求示例（{_esc(example['summary'])}）</h3>")
                    parts.append(f"<pre>{_esc(json.dumps(example['value'], ensure_ascii=False, indent=2))}</pre>")
            if "x-return-codes" in operation:
                parts.append("<h3>应答码（附四）</h3><table><tr><th>code</th><th>含义</th></tr>")
                parts += [
                    f"<tr><td>{_esc(c['code'])}</td><td>{_esc(c['meaning'])}</td></tr>"
                    for c in operation["x-return-codes"]
                ]
                parts.append("</table>")
            reply = operation["responses"]["200"].get("content", {}).get("application/json")
            for example in (reply or {}).get("examples", {}).values():
                parts.append(f"<h3>应答示例（{_esc(example['summary'])}）</h3>")
                parts.append(f"<pre>{_esc(json.dumps(example['value'], ensure_ascii=False, indent=2))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


_BUILT: dict[tuple[Any, ...], tuple[dict[str, Any], bytes, str]] = {}
"""Documents already built in this process, by the shim routes' paths and endpoints and the server URL: the
routes are module-level objects, so every app of a test run shares one build."""


class OpenApiRoutes:
    """``/prefront/openapi.json`` and ``/prefront/docs`` for one app, built once from its routes."""

    def __init__(self, routes: Iterable[BaseRoute], *, server_url: str | None = None) -> None:
        routes = list(routes)
        key = (tuple(sorted((p, id(r.endpoint)) for p, r in shim_routes(routes).items())), server_url)
        if key not in _BUILT:
            document = build_document(routes, server_url=server_url)
            text = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            _BUILT[key] = (document, text, render_html(document))
        self.document, self._json, self._html = _BUILT[key]

    async def openapi(self, request: Request) -> Response:
        return Response(self._json, media_type="application/json", headers={"Cache-Control": "no-cache"})

    async def docs(self, request: Request) -> Response:
        headers = {
            "Content-Security-Policy": DOCS_POLICY,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        return HTMLResponse(self._html, headers=headers)

    @property
    def routes(self) -> list[Route]:
        return [Route(OPENAPI_PATH, self.openapi, methods=["GET"]), Route(DOCS_PATH, self.docs, methods=["GET"])]
