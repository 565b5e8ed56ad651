"""The fake Twilio API's Content API (content.twilio.com/v1/Content), as the real one answers it.

    POST   /v1/Content          create (JSON: friendly_name, language, variables, types) → 201
    GET    /v1/Content          list, paged (PageSize, Page, PageToken; meta.next_page_url)
    GET    /v1/Content/HX…      fetch
    DELETE /v1/Content/HX…      delete → 204
    POST   /v1/Content/HX…/ApprovalRequests/whatsapp   ask WhatsApp to approve (JSON: name, category)

Shapes after https://www.twilio.com/docs/content/content-api-resources. Creating checks what
WhatsApp and Twilio check (twilio/quick-reply: 1-10 actions; twilio/list-picker: 1-10 items,
item title ≤ 24, id ≤ 200; body ≤ 1,024). `shown(sid, variables)` is what a WhatsApp user sees
of a content sent with ContentVariables; a message naming a content the fake holds is refused
when a variable is missing, or when the filled-in buttons or list break WhatsApp's limits.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

CONTENT = re.compile(r"^/v1/Content(?:/(HX[0-9a-fA-F]{32}))?(/ApprovalRequests/whatsapp)?$")
_VARIABLE = re.compile(r"\{\{(\d+)\}\}")
# Twilio's errors: 20001 bad request; 20404 not found; 21656 ContentVariables invalid.
_INVALID_VARIABLES = 21656


class ContentStore:
    """The contents of one fake account, in creation order."""

    def __init__(self, account_sid: str):
        self.account_sid = account_sid
        self.lock = threading.Lock()
        self.contents: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []  # (method, path) of every Content API request
        self.approvals: dict[str, dict[str, str]] = {}  # ContentSid → the approval request

    def reset(self) -> None:
        with self.lock:
            self.contents.clear()
            self.calls.clear()
            self.approvals.clear()

    def answer(self, method: str, path: str, query: str, body: bytes, base_url: str) -> tuple[int, Any]:
        """Answer one Content API request: (HTTP status, JSON payload or None for 204)."""
        match = CONTENT.match(path)
        if match is None:
            return 404, _error(20404, 404, "The requested resource was not found")
        sid = match.group(1)
        with self.lock:
            self.calls.append((method, path))
            if method == "POST" and sid is None:
                return self._create(body, base_url)
            if method == "GET" and sid is None:
                return 200, self._page(parse_qs(query), base_url)
            if sid is None or sid not in self.contents:
                return 404, _error(20404, 404, f"The requested resource /Content/{sid} was not found")
            if match.group(2):
                return self._approve(sid, method, body)
            if method == "GET":
                return 200, self.contents[sid]
            if method == "DELETE":
                del self.contents[sid]
                return 204, None
        return 405, _error(20004, 405, "Method not allowed")

    def _create(self, body: bytes, base_url: str) -> tuple[int, Any]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return 400, _error(20001, 400, "Invalid JSON")
        types = {k: v for k, v in (request.get("types") or {}).items() if v is not None}
        problem = _check_types(types) if request.get("language") else "language is required"
        if problem:
            return 400, _error(20001, 400, problem)
        sid = "HX" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        content = {
            "sid": sid, "account_sid": self.account_sid, "friendly_name": request.get("friendly_name"),
            "language": request["language"], "variables": request.get("variables") or {}, "types": types,
            "url": f"{base_url}/v1/Content/{sid}", "date_created": now, "date_updated": now,
            "links": {"approval_create": f"{base_url}/v1/Content/{sid}/ApprovalRequests/whatsapp",
                      "approval_fetch": f"{base_url}/v1/Content/{sid}/ApprovalRequests"},
        }
        self.contents[sid] = content
        return 201, content

    def _approve(self, sid: str, method: str, body: bytes) -> tuple[int, Any]:
        if method != "POST":
            return 405, _error(20004, 405, "Method not allowed")
        request = json.loads(body or b"{}")
        if not request.get("name") or not request.get("category"):
            return 400, _error(20001, 400, "name and category are required")
        self.approvals[sid] = {"name": request["name"], "category": request["category"]}
        return 201, {"name": request["name"], "category": request["category"], "content_type": next(iter(self.contents[sid]["types"])),
                     "status": "received", "rejection_reason": "", "allow_category_change": True}

    def _page(self, query: dict[str, list[str]], base_url: str) -> dict[str, Any]:
        size = max(1, min(1000, int((query.get("PageSize") or ["50"])[0])))
        page = int((query.get("Page") or ["0"])[0])
        everything = list(self.contents.values())
        chunk = everything[page * size:(page + 1) * size]
        url = f"{base_url}/v1/Content?PageSize={size}&Page={page}"
        more = (page + 1) * size < len(everything)
        return {
            "contents": chunk,
            "meta": {
                "page": page, "page_size": size, "key": "contents", "url": url,
                "first_page_url": f"{base_url}/v1/Content?PageSize={size}&Page=0",
                "previous_page_url": f"{base_url}/v1/Content?PageSize={size}&Page={page - 1}" if page else None,
                "next_page_url": f"{base_url}/v1/Content?PageSize={size}&Page={page + 1}&PageToken=PT{page + 1}" if more else None,
            },
        }

    def knows(self, sid: str) -> bool:
        with self.lock:
            return sid in self.contents

    def shown(self, sid: str, variables: dict[str, str]) -> dict[str, Any]:
        """Return a content with its variables filled in: body, and buttons or list (title, id) pairs."""
        with self.lock:
            types = json.loads(json.dumps(self.contents[sid]["types"]))
        fill = lambda text: _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)  # noqa: E731
        if "twilio/quick-reply" in types:
            quick = types["twilio/quick-reply"]
            return {"type": "twilio/quick-reply", "body": fill(quick["body"]),
                    "buttons": [(fill(a["title"]), fill(a["id"])) for a in quick["actions"]]}
        if "twilio/list-picker" in types:
            picker = types["twilio/list-picker"]
            return {"type": "twilio/list-picker", "body": fill(picker["body"]), "button": fill(picker["button"]),
                    "items": [(fill(i["item"]), fill(i["id"])) for i in picker["items"]]}
        return {"type": "twilio/text", "body": fill(types.get("twilio/text", {}).get("body", ""))}

    def check_message(self, params: dict[str, str]) -> tuple[int, dict[str, object]] | None:
        """Return the error a Messages.json request with a ContentSid this fake holds gets, or None."""
        sid = params.get("ContentSid", "")
        if not self.knows(sid):
            return None
        try:
            variables = json.loads(params.get("ContentVariables") or "{}")
        except ValueError:
            return 400, _error(_INVALID_VARIABLES, 400, "The ContentVariables Parameter is invalid.")
        with self.lock:
            wanted = set(_VARIABLE.findall(json.dumps(self.contents[sid]["types"])))
        if not isinstance(variables, dict) or wanted - set(variables) or any(not str(variables[k]).strip() for k in wanted):
            return 400, _error(_INVALID_VARIABLES, 400, "The ContentVariables Parameter is invalid: a variable is missing or empty.")
        seen = self.shown(sid, variables)
        problem = (
            "body over 1,024 characters" if len(seen["body"]) > 1024
            else "more than 3 buttons in session" if len(seen.get("buttons", ())) > 3
            else "a button title over 20 characters" if any(len(t) > 20 for t, _ in seen.get("buttons", ()))
            else "a list item title over 24 characters" if any(len(t) > 24 for t, _ in seen.get("items", ()))
            else "an id over 200 characters" if any(len(i) > 200 for _, i in [*seen.get("buttons", ()), *seen.get("items", ())])
            else "a list button over 20 characters" if len(seen.get("button", "")) > 20
            else None
        )
        if problem:
            return 400, _error(63027, 400, f"WhatsApp refused the content: {problem}")
        return None


def _check_types(types: dict[str, Any]) -> str | None:
    if not types:
        return "types is required"
    quick = types.get("twilio/quick-reply")
    if quick is not None and not (1 <= len(quick.get("actions") or []) <= 10 and quick.get("body")):
        return "twilio/quick-reply needs a body and 1-10 actions"
    picker = types.get("twilio/list-picker")
    if picker is not None:
        items = picker.get("items") or []
        if not (1 <= len(items) <= 10 and picker.get("body") and picker.get("button")):
            return "twilio/list-picker needs a body, a button and 1-10 items"
        if any(len(i.get("item", "")) > 24 or len(i.get("id", "")) > 200 for i in items):
            return "twilio/list-picker: item titles are at most 24 characters, ids at most 200"
    for kind in ("twilio/text", "twilio/quick-reply", "twilio/list-picker"):
        if kind in types and len(str(types[kind].get("body", ""))) > 1024:
            return f"{kind}: the body is at most 1,024 characters"
    return None


def _error(code: int, status: int, message: str) -> dict[str, object]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
