"""Validation messages in Chinese (zh-CN) beside marshmallow's English ones.

Library messages are matched by pattern; a service's own messages are declared once with
`bilingual(en, zh)`, which returns the English text to raise and remembers the Chinese.
"""
import re

_PATTERNS = [(re.compile(p), zh) for p, zh in (
    (r"^Missing data for required field\.$", "缺少必填字段"),
    (r"^Field may not be null\.$", "该字段不能为空"),
    (r"^Unknown field\.$", "未知字段"),
    (r"^Invalid input type\.$", "输入类型无效"),
    (r"^Invalid value\.$", "无效的值"),
    (r"^Not a valid string\.$", "不是有效的字符串"),
    (r"^Not a valid integer\.$", "不是有效的整数"),
    (r"^Not a valid number\.$", "不是有效的数字"),
    (r"^Not a valid boolean\.$", "不是有效的布尔值"),
    (r"^Not a valid date\.$", "不是有效的日期（格式 YYYY-MM-DD）"),
    (r"^Not a valid datetime\.$", "不是有效的日期时间"),
    (r"^Not a valid time\.$", "不是有效的时间"),
    (r"^Not a valid list\.$", "不是有效的列表"),
    (r"^Not a valid mapping type\.$", "不是有效的对象"),
    (r"^Not a valid email address\.$", "不是有效的电子邮件地址"),
    (r"^String does not match expected pattern\.$", "格式不正确"),
    (r"^Must be one of: (.*)\.$", r"必须是以下之一：\1"),
    (r"^Length must be between (\S+) and (\S+)\.$", r"长度必须在 \1 到 \2 之间"),
    (r"^Shorter than minimum length (\S+)\.$", r"长度不能少于 \1"),
    (r"^Longer than maximum length (\S+)\.$", r"长度不能超过 \1"),
    (r"^Length must be (\S+)\.$", r"长度必须为 \1"),
    (r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$",
     r"必须在 \1 到 \2 之间"),
    (r"^Must be greater than or equal to (\S+)\.$", r"必须大于或等于 \1"),
    (r"^Must be less than or equal to (\S+)\.$", r"必须小于或等于 \1"),
    (r"^Must be greater than (\S+)\.$", r"必须大于 \1"),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$",
     "不接受特殊数值（NaN 或无穷大）"),
)]
_DECLARED: dict[str, str] = {}


def bilingual(en: str, zh: str) -> str:
    _DECLARED[en] = zh
    return en


def bilingual_pattern(en_regex: str, zh_template: str) -> None:
    """A message with variable parts: `en_regex` matches it, groups go into `zh_template`."""
    _PATTERNS.insert(0, (re.compile(en_regex), zh_template))


def to_zh(message: str) -> str:
    if message in _DECLARED:
        return _DECLARED[message]
    for pattern, zh in _PATTERNS:
        if pattern.match(message):
            return pattern.sub(zh, message)
    return message


def translate(errors):
    """The same tree of errors (dicts, lists, strings) with every message in Chinese."""
    if isinstance(errors, dict):
        return {key: translate(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [translate(value) for value in errors]
    return to_zh(errors) if isinstance(errors, str) else errors
