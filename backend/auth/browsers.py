"""Recognise the built-in browsers of messaging apps, where passkeys usually do not work.

Only used to show advice ("open this page in your phone's browser"); never to refuse anything.
"""

from __future__ import annotations

import re

_IN_APP = [
    ("MicroMessenger", "WeChat"),
    ("WeCom|wxwork", "WeCom"),
    (r"\bQQ/", "QQ"),
    ("AlipayClient", "Alipay"),
    ("DingTalk", "DingTalk"),
    ("Weibo", "Weibo"),
    ("aweme|BytedanceWebview|NewsArticle", "Douyin"),
    ("XiaoHongShu|discover/", "Xiaohongshu"),
    ("baiduboxapp", "Baidu"),
    (r"FBAN|FBAV|Instagram|\bLine/", "a social app"),
]
_PATTERNS = [(re.compile(pattern), name) for pattern, name in _IN_APP]


def in_app_browser(user_agent: str | None) -> str | None:
    """The app's name when the page is open inside a messaging app's browser, else None."""
    if not user_agent:
        return None
    agent = user_agent[:512]
    for pattern, name in _PATTERNS:
        if pattern.search(agent):
            return name
    return None
