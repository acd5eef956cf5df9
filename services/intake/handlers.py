"""What intake consumes: a need's fate at casework (a case, a council topic); the contracts'
communities and periods
and the residents drawn for a survey (what bounds a survey's release of contacts)."""
from .jurisdiction import on_contract
from .needs import follow_case, follow_topic
from .surveys import on_sample_drawn, on_wave_closed

CLOSED_AS = {"goals_met": "resolved", "partly_met": "resolved", "not_met": "unresolved",
             "referred": "referred", "withdrawn": "unresolved"}


def on_case_opened(event):
    if event.data.get("need_id"):
        follow_case(event.data["need_id"], "in_service", event.data["case_id"],
                    f"event:{event.id}")


def on_case_closed(event):
    if event.data.get("need_id"):
        follow_case(event.data["need_id"], CLOSED_AS[event.data["outcome"]],
                    event.data["case_id"], f"event:{event.id}")


def on_topic_proposed(event):
    follow_topic(event.data["need_ids"], event.data["topic_id"])


HANDLERS = {
    "case.opened": on_case_opened,
    "case.closed": on_case_closed,
    "council.topic_proposed": on_topic_proposed,
    "contract.awarded": on_contract,
    "contract.amended": on_contract,
    "survey.sample_drawn": on_sample_drawn,
    "survey.wave_closed": on_wave_closed,
}
