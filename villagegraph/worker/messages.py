"""What a notification says to a person: one template per kind, all of them here.

A message names the kind in Chinese words, the item's title, times in China Standard Time
as people write them (`12月5日 18:00`) and a link into the app (the configured base URL
plus the item's path and id). Channels take the rendered `Text` and shape it for their API
(an SMS line, a WeChat template's fields); they never format a payload themselves. This
module renders only: it must not decide who receives what, nor when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
SIGNATURE = "【智慧村社通】"


@dataclass(frozen=True)
class Text:
    kind_words: str  # 通知公告, 任务提醒, ...
    title: str
    detail: str  # one line: when, what to do
    link: str | None  # into the app; None when the message has no item (a login code)

    def line(self) -> str:
        """The whole message on one line (an SMS, a log line)."""
        parts = [f"{SIGNATURE}{self.kind_words}：{self.title}"]
        if self.detail:
            parts.append(self.detail)
        if self.link:
            parts.append(self.link)
        return "，".join(parts)


def china_time(value: Any) -> str:
    """`12月5日 18:00` in China Standard Time, from a datetime or an ISO text; '' if none."""
    if value in (None, ""):
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"a time without a zone cannot be shown: {value!r}")
    local = moment.astimezone(CHINA)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


@dataclass(frozen=True)
class Template:
    words: str  # the kind in Chinese words
    path: str  # the app's page of the item: "<path>/<id>"
    item: str  # the payload key holding the item's id
    detail: Callable[[dict[str, Any]], str]


def _due(payload: dict[str, Any]) -> str:
    due = china_time(payload.get("due_at"))
    return f"请于{due}前完成" if due else ""


def _reminder(payload: dict[str, Any]) -> str:
    stage = {"DUE_SOON": "即将到期", "OVERDUE": "已逾期", "ESCALATED": "已逾期并上报"}
    due = china_time(payload.get("due_at"))
    word = stage.get(str(payload.get("reminder")), "")
    return "，".join(x for x in (word, f"截止{due}" if due else "") if x)


def _window(payload: dict[str, Any]) -> str:
    opens, closes = china_time(payload.get("opens_at")), china_time(payload.get("closes_at"))
    return f"投票时间{opens}至{closes}" if opens and closes else ""


def _passed(payload: dict[str, Any]) -> str:
    passed = payload.get("passed")
    return "" if passed is None else ("表决通过" if passed else "表决未通过")


def _published(payload: dict[str, Any]) -> str:
    when = china_time(payload.get("published_at"))
    return f"{when}发布" if when else ""


def _code(payload: dict[str, Any]) -> str:
    return f"验证码{payload.get('code', '')}，10分钟内有效，请勿告诉他人"


TEMPLATES: dict[str, Template] = {
    "notice.published": Template("通知公告", "notices", "notice", _published),
    "notice.urgent": Template("紧急通知", "notices", "notice", _published),
    "shelters.emergency": Template(
        "紧急避灾", "notices", "notice", lambda p: "请就近前往避灾安置场所"
    ),
    "consultation.opened": Template("村民协商", "consultations", "consultation", _window),
    "consultation.resolution": Template("协商结果", "consultations", "consultation", _passed),
    "consultation.closed": Template("协商结束", "consultations", "consultation", _passed),
    "task.reminder": Template("任务提醒", "tasks", "task", _reminder),
    "task.assigned": Template("新任务", "tasks", "task", _due),
    "task.escalated": Template("任务督办", "tasks", "task", _reminder),
    "task.completed": Template("任务完成", "tasks", "task", lambda p: ""),
    "suggestion.answered": Template("建议答复", "suggestions", "suggestion", lambda p: ""),
    "suggestion.rejected": Template("建议处理", "suggestions", "suggestion", lambda p: ""),
    "listing.reviewed": Template("信息审核", "listings", "listing", lambda p: ""),
    "account.login_code": Template("登录验证码", "", "", _code),
}
FALLBACK = Template("消息提醒", "", "", lambda p: "")


def render(kind: str, payload: dict[str, Any], app_base_url: str) -> Text:
    """The message of a notification of `kind` with this payload."""
    template = TEMPLATES.get(kind, FALLBACK)
    item = payload.get(template.item) if template.item else None
    link = None
    if item is not None and template.path:
        link = f"{app_base_url.rstrip('/')}/{template.path}/{item}"
    title = str(payload.get("title") or payload.get("name") or template.words)
    return Text(template.words, title, template.detail(payload), link)
