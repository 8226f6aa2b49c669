"""Recognise the built-in browsers of messaging apps, where passkeys usually do not work.

Only used to show advice ("open this page in your phone's browser"); never to refuse anything.
"""

from __future__ import annotations

import re

from backend.i18n import lazy_gettext as _l

# App names are shown in the notice, so they are translated like any other text.
_IN_APP = [
    ("MicroMessenger", _l("WeChat")),
    ("WeCom|wxwork", _l("WeCom")),
    (r"\bQQ/", _l("QQ")),
    ("AlipayClient", _l("Alipay")),
    ("DingTalk", _l("DingTalk")),
    ("Weibo", _l("Weibo")),
    ("aweme|BytedanceWebview|NewsArticle", _l("Douyin")),
    ("XiaoHongShu|discover/", _l("Xiaohongshu")),
    ("baiduboxapp", _l("Baidu")),
    (r"FBAN|FBAV|Instagram|\bLine/", _l("a social app")),
]
_PATTERNS = [(re.compile(pattern), name) for pattern, name in _IN_APP]


def in_app_browser(user_agent: str | None) -> str | None:
    """The app's name when the page is open inside a messaging app's browser, else None."""
    if not user_agent:
        return None
    agent = user_agent[:512]
    for pattern, name in _PATTERNS:
        if pattern.search(agent):
            return str(name)
    return None
