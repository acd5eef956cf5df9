"""Display names for the coded values records carry (categories, statuses, roles...)."""
from flask_babel import lazy_gettext as _l

LABELS = {
    # roles
    "intake_clerk": _l("Intake clerk"), "social_worker": _l("Social worker"),
    "agency_admin": _l("Agency admin"), "buyer_auditor": _l("Buyer / auditor"),
    "ops_admin": _l("Operations"),
    # need categories
    "elderly_care": _l("Elderly care"), "child_youth": _l("Children and youth"),
    "disability": _l("Disability"), "poverty_assistance": _l("Poverty assistance"),
    "health": _l("Health"), "family_relations": _l("Family relations"),
    "employment": _l("Employment"), "neighbourhood_disputes": _l("Neighbourhood disputes"),
    "public_environment": _l("Public environment"),
    "community_governance": _l("Community governance"), "other": _l("Other"),
    # urgency, channels
    "routine": _l("Routine"), "priority": _l("Priority"), "urgent": _l("Urgent"),
    "walk_in": _l("Walk-in"), "hotline": _l("Hotline"), "online": _l("Online"),
    "grid_visit": _l("Grid visit"), "council_meeting": _l("Council meeting"),
    "referral": _l("Referral"), "in_person": _l("In person"),
    # need and case statuses
    "reported": _l("Reported"), "triaged": _l("Triaged"), "referred": _l("Referred"),
    "in_service": _l("In service"), "resolved": _l("Resolved"), "unresolved": _l("Unresolved"),
    "withdrawn": _l("Withdrawn"), "open": _l("Open"), "closed": _l("Closed"),
    "awaiting": _l("Awaiting"),
    # residents
    "female": _l("Female"), "male": _l("Male"), "living_alone": _l("Living alone"),
    "low_income": _l("Low income"), "elderly": _l("Elderly"), "child": _l("Child"),
    # casework
    "casework": _l("Casework"), "group_work": _l("Group work"),
    "community_work": _l("Community work"), "agency": _l("Agency"),
    "resident": _l("Resident"), "organization": _l("Resident organisation"),
    "training": _l("Training"), "volunteer_service": _l("Volunteer service"),
    "leader_cultivation": _l("Leader cultivation"),
    "org_incubation": _l("Organisation incubation"),
    "residents_committee": _l("Residents' committee"),
    "party_organization": _l("Party organisation"),
    "proposed": _l("Proposed"), "scheduled": _l("Scheduled"), "decided": _l("Decided"),
    "adopted": _l("Adopted"), "rejected": _l("Rejected"), "deferred": _l("Deferred"),
    "informed": _l("Informed"), "consulted": _l("Consulted"), "partnership": _l("Partnership"),
    "delegated": _l("Delegated"), "in_progress": _l("In progress"), "done": _l("Done"),
    "stalled": _l("Stalled"), "incubating": _l("Incubating"), "active": _l("Active"),
    "dormant": _l("Dormant"), "dissolved": _l("Dissolved"), "assessment": _l("Assessment"),
    "note": _l("Note"),
    # follow-up verification
    "session": _l("Session"), "confirmed": _l("Confirmed"), "not_confirmed": _l("Not confirmed"),
    "unreachable": _l("Unreachable"), "visit": _l("Visit"), "call": _l("Call"),
    "goals_met": _l("Goals met"), "partly_met": _l("Partly met"), "not_met": _l("Not met"),
    # the community micro-fund
    "proposing": _l("Proposing"), "review": _l("Review"), "notice": _l("Public notice"),
    "voting": _l("Voting"), "results": _l("Results"), "delivery": _l("Delivery"),
    "resident_organization": _l("Resident organisation"), "service": _l("Service"),
    "goods": _l("Goods"), "works": _l("Works"), "approval": _l("Approval voting"),
    "knapsack": _l("Voting within the budget"), "paper": _l("Paper"),
    "unsupported": _l("Short of supports"), "feasible": _l("Feasible"),
    "declined": _l("Declined"), "funded": _l("Funded"), "unfunded": _l("Not funded"),
    "does_not_fit": _l("Does not fit the money left"), "no_votes": _l("No votes"),
    # a resident's own acts, in plain words (the residents' pages)
    "act_served": _l("Helped by a social worker"), "act_attended": _l("Took part"),
    "act_trained": _l("Took a training"), "act_volunteered": _l("Volunteered"),
    "act_registered_volunteer": _l("Became a volunteer"),
    "act_proposed": _l("Proposed a council topic"), "act_voted": _l("Voted"),
    "act_supported": _l("Supported a project or topic"),
    "act_member": _l("Joined a residents' group"),
    "act_led": _l("Led"),
}


def label(value) -> str:
    if value is None:
        return "—"
    return str(LABELS.get(value, value))
