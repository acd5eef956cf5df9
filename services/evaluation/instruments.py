"""Survey instruments shipped with evaluation, and how a response to one is checked and
scored. Sources and adaptation notes: docs/SURVEYS.md.

An instrument is a versioned record: (key, version) never changes once stored; a changed
wording or rule is a new version, and waves name the version they use. The definitions here
are seeded into the `survey_instrument` table on first use.

Scoring rules (every instrument): an answer is an integer on the instrument's scale or null
(skipped); a reverse-scored item counts as (min + max − answer); a subscale's score is the
mean of its answered items, and needs at least `min_answered` of them, or the response is
incomplete and refused; the total is the mean of the subscale scores."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shared.i18n import bilingual, bilingual_pattern

from .models import SurveyInstrument, db

AGREEMENT = {"min": 1, "max": 5,
             "labels_zh": ["非常不同意", "不同意", "说不清", "同意", "非常同意"],
             "labels_en": ["strongly disagree", "disagree", "neither agree nor disagree",
                           "agree", "strongly agree"]}


def _item(key, subscale, zh, en, reverse=False):
    return {"key": key, "subscale": subscale, "reverse": reverse, "text_zh": zh, "text_en": en}


def _subscale(key, zh, en, min_answered):
    return {"key": key, "name_zh": zh, "name_en": en, "min_answered": min_answered}


SOCIOPOLITICAL_CONTROL = {
    "key": "sociopolitical_control", "version": 1, "construct": "psychological_empowerment",
    "name_zh": "社区参与效能感量表", "name_en": "Sociopolitical control, community form",
    "anonymous": False, "scale": AGREEMENT,
    "source": "Zimmerman & Zahniser (1991); Peterson et al. (2006). Items written for this "
              "platform in the scale's spirit, not the published wording.",
    "subscales": [_subscale("leadership_competence", "领导能力感", "Leadership competence", 5),
                  _subscale("policy_control", "政策影响感", "Policy control", 5)],
    "items": [
        _item("lc1", "leadership_competence", "在小组或团队里，我常常是带头的人。",
              "In a group or team I am often the one who takes the lead."),
        _item("lc2", "leadership_competence", "我能把邻居们组织起来一起把事情办成。",
              "I can bring neighbours together to get things done."),
        _item("lc3", "leadership_competence", "别人通常愿意采纳我的想法。",
              "Other people usually go along with my ideas."),
        _item("lc4", "leadership_competence", "在一群人面前讲话对我来说很困难。",
              "Speaking in front of a group is hard for me.", reverse=True),
        _item("lc5", "leadership_competence", "遇到问题，我宁愿等别人出面解决，自己不去操心。",
              "When there is a problem I would rather wait for someone else to solve it.",
              reverse=True),
        _item("lc6", "leadership_competence", "社区活动需要牵头人时，我愿意站出来。",
              "When a community activity needs someone to lead it, I am willing to step "
              "forward."),
        _item("pc1", "policy_control", "我对社区里重要的公共事务有比较清楚的了解。",
              "I have a fairly good understanding of the important public issues in my "
              "community."),
        _item("pc2", "policy_control", "像我这样的居民有能力参与社区事务的讨论和决策。",
              "Residents like me are able to take part in discussing and deciding community "
              "affairs."),
        _item("pc3", "policy_control", "像我这样的居民有很多途径对社区的决定发表意见。",
              "There are plenty of ways for residents like me to have a say in community "
              "decisions."),
        _item("pc4", "policy_control", "社区的事情太复杂了，像我这样的人弄不明白。",
              "Community affairs are so complicated that someone like me cannot really "
              "understand them.", reverse=True),
        _item("pc5", "policy_control", "不管我做什么，社区里做决定的人都不会听我的意见。",
              "Whatever I do, the people who decide things in the community will not listen "
              "to me.", reverse=True),
        _item("pc6", "policy_control", "我参与社区议事，是因为希望对社区的事情有发言权。",
              "I take part in community deliberation because I want a say in how the "
              "community is run."),
    ],
}

SENSE_OF_COMMUNITY = {
    "key": "sense_of_community", "version": 1, "construct": "community_identity",
    "name_zh": "社区认同感量表", "name_en": "Sense of community and community identity",
    "anonymous": False, "scale": AGREEMENT,
    "source": "McMillan & Chavis (1986); Chavis, Lee & Acosta (2008), SCI-2; Peterson, Speer "
              "& McMillan (2008), BSCS. Items written for this platform in the scales' "
              "spirit, not the published wording.",
    "subscales": [_subscale("needs", "需求满足", "Reinforcement of needs", 2),
                  _subscale("membership", "成员归属", "Membership", 2),
                  _subscale("influence", "相互影响", "Influence", 2),
                  _subscale("emotional_connection", "情感联结", "Shared emotional connection",
                            2)],
    "items": [
        _item("nd1", "needs", "住在这个社区，我的一些重要需要能够得到满足。",
              "Living in this community, important needs of mine are met."),
        _item("nd2", "needs", "遇到困难时，我能从社区得到需要的帮助。",
              "When I have a difficulty, I can get the help I need from the community."),
        _item("mb1", "membership", "我觉得自己是这个社区的一员。",
              "I feel I am a member of this community."),
        _item("mb2", "membership", "我认识社区里的很多人，他们也认识我。",
              "I know many people in this community and they know me."),
        _item("in1", "influence", "我能对这个社区里发生的事情产生影响。",
              "I can influence what happens in this community."),
        _item("in2", "influence", "社区居民在意彼此的看法。",
              "Residents of this community care what other residents think."),
        _item("ec1", "emotional_connection", "我对这个社区有感情，希望长期住在这里。",
              "I feel attached to this community and want to live here for a long time."),
        _item("ec2", "emotional_connection", "社区居民常常一起度过节日和重要的日子。",
              "Residents here often spend festivals and important occasions together."),
    ],
}

SERVICE_SATISFACTION = {
    "key": "service_satisfaction", "version": 1, "construct": "satisfaction",
    "name_zh": "社区社会工作服务满意度问卷", "name_en": "Community social work service satisfaction",
    "anonymous": True, "scale": AGREEMENT, "satisfied_at": 4,
    "source": "Larsen, Attkisson, Hargreaves & Nguyen (1979); Attkisson & Zwick (1982). The "
              "CSQ's wording is licensed and may not be modified: these items are written for "
              "this platform in its spirit and are not the CSQ.",
    "subscales": [_subscale("quality", "服务质量", "Quality of service", 2),
                  _subscale("responsiveness", "回应与尊重", "Responsiveness and respect", 1),
                  _subscale("overall", "总体评价", "Overall", 2)],
    "items": [
        _item("sq1", "quality", "社工提供的服务质量好。",
              "The service the social workers provided was of good quality."),
        _item("sq2", "quality", "社工的服务帮助我更好地应对了自己的问题。",
              "The service helped me deal with my problems more effectively."),
        _item("sq3", "quality", "社工的服务没有触及我真正关心的问题。",
              "The service did not address what I really cared about.", reverse=True),
        _item("rs1", "responsiveness", "我提出的需求得到了及时回应。",
              "My requests got a timely response."),
        _item("rs2", "responsiveness", "社工尊重我，认真听取我的意见。",
              "The social workers treated me with respect and listened to my views."),
        _item("ov1", "overall", "总体来说，我对社区社工服务感到满意。",
              "Overall, I am satisfied with the community social work service."),
        _item("ov2", "overall", "如果朋友或邻居需要类似帮助，我会推荐这项服务。",
              "I would recommend this service to a friend or neighbour who needs similar "
              "help."),
        _item("ov3", "overall", "今后需要帮助时，我还愿意使用这项服务。",
              "If I need help again, I would use this service again."),
    ],
}

SHIPPED = (SOCIOPOLITICAL_CONTROL, SENSE_OF_COMMUNITY, SERVICE_SATISFACTION)

UNKNOWN_ITEM = bilingual("Unknown item", "未知的题目")
NOT_AN_ANSWER = bilingual("Not a valid integer.", "不是有效的整数")
bilingual_pattern(r"^Missing answer: (\S+) needs at least (\d+) of its (\d+) items answered$",
                  r"缺少回答：\1 至少需要回答其 \3 题中的 \2 题")


def ensure_seeded() -> None:
    """Store the shipped instruments that are not stored yet (first use)."""
    stored = set(db.session.execute(sa.select(SurveyInstrument.key, SurveyInstrument.version)))
    for definition in SHIPPED:
        if (definition["key"], definition["version"]) in stored:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(SurveyInstrument(key=definition["key"],
                                                version=definition["version"],
                                                definition=definition))
        except IntegrityError:  # another process stored it first: the same record
            pass


def latest(key: str) -> dict | None:
    ensure_seeded()
    row = db.session.scalar(sa.select(SurveyInstrument).where(
        SurveyInstrument.key == key).order_by(SurveyInstrument.version.desc()).limit(1))
    return row.definition if row else None


def stored(key: str, version: int) -> dict | None:
    ensure_seeded()
    row = db.session.get(SurveyInstrument, (key, version))
    return row.definition if row else None


def problems(definition: dict, answers: dict) -> dict:
    """`answers.<item>` -> reasons, for answers that cannot be scored; empty if they can."""
    scale, items = definition["scale"], {i["key"]: i for i in definition["items"]}
    found = {}
    for key, value in answers.items():
        if key not in items:
            found[f"answers.{key}"] = [UNKNOWN_ITEM]
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            found[f"answers.{key}"] = [NOT_AN_ANSWER]
        elif value is not None and not scale["min"] <= value <= scale["max"]:
            found[f"answers.{key}"] = [
                f"Must be greater than or equal to {scale['min']} and less than or equal to "
                f"{scale['max']}."]
    for subscale in definition["subscales"]:
        keys = [i["key"] for i in definition["items"] if i["subscale"] == subscale["key"]]
        missing = [k for k in keys if answers.get(k) is None]
        if len(keys) - len(missing) < subscale["min_answered"]:
            for key in missing:
                found.setdefault(f"answers.{key}", []).append(
                    f"Missing answer: {subscale['key']} needs at least "
                    f"{subscale['min_answered']} of its {len(keys)} items answered")
    return found


def score(definition: dict, answers: dict) -> dict:
    """Subscale scores and the total of a valid response (see `problems`)."""
    low, high = definition["scale"]["min"], definition["scale"]["max"]
    subscales = {}
    for subscale in definition["subscales"]:
        values = [low + high - answers[i["key"]] if i["reverse"] else answers[i["key"]]
                  for i in definition["items"]
                  if i["subscale"] == subscale["key"] and answers.get(i["key"]) is not None]
        subscales[subscale["key"]] = round(sum(values) / len(values), 4)
    total = round(sum(subscales.values()) / len(subscales), 4)
    return {"subscales": subscales, "total": total}
