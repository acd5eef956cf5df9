"""The platform's coded vocabularies, defined once: the values records and events carry,
which the API schemas, the event catalogue, the pages and the scenario all draw from; and
the participation ladder's rungs, which evaluation measures and the scenario plans by."""

# -- residents (coarse demographics: what may leave intake) ----------------------------------
AGE_BANDS = ("0-17", "18-34", "35-59", "60-69", "70-79", "80+", "unknown")
KNOWN_AGE_BANDS = AGE_BANDS[:-1]
OLDER_AGE_BANDS = ("60-69", "70-79", "80+")  # 60 and over: "elderly" in the flags
GENDERS = ("female", "male", "other", "unknown")
HOUSEHOLD_TYPES = ("single", "couple", "nuclear", "extended", "single_parent",
                   "elderly_only", "other", "unknown")
RESIDENT_FLAGS = ("living_alone", "disability", "low_income", "elderly", "child")
EXPLICIT_FLAGS = ("living_alone", "disability", "low_income")  # a clerk sets; age implies the rest


def age_band(age: int) -> str:
    """The band of an age in whole years."""
    for upper, band in ((17, "0-17"), (34, "18-34"), (59, "35-59"), (69, "60-69"),
                        (79, "70-79")):
        if age <= upper:
            return band
    return "80+"


# -- needs -------------------------------------------------------------------------------
NEED_CATEGORIES = ("elderly_care", "child_youth", "disability", "poverty_assistance", "health",
                   "employment", "family_relations", "neighbourhood_disputes",
                   "public_environment", "community_governance", "other")
URGENCIES = ("routine", "priority", "urgent")
CHANNELS = ("walk_in", "hotline", "online", "grid_visit", "council_meeting", "referral")
NEED_STATUSES = ("reported", "triaged", "referred", "in_service", "resolved", "unresolved",
                 "withdrawn")
WITHDRAW_REASONS = ("resolved_elsewhere", "resident_request", "duplicate", "moved_away",
                    "other")

# -- casework ------------------------------------------------------------------------------
METHODS = ("casework", "group_work", "community_work")
LEADS = ("agency", "resident", "organization")
MODES = ("in_person", "online")
CASE_OUTCOMES = ("goals_met", "partly_met", "not_met", "referred", "withdrawn")
NOTE_KINDS = ("assessment", "note", "referral")
ACTIVITY_KINDS = ("training", "volunteer_service", "leader_cultivation", "org_incubation")
TRAINING_KINDS = ("training", "leader_cultivation", "org_incubation")
ORGANIZATION_STATUSES = ("incubating", "active", "dormant", "dissolved")
NEW_ORGANIZATION_STATUSES = ORGANIZATION_STATUSES[:2]

# -- the council -----------------------------------------------------------------------------
PROPOSERS = ("resident", "social_worker", "residents_committee", "party_organization",
             "resident_organization")
TOPIC_CHANNELS = ("in_person", "online", "council_meeting")
DECISION_OUTCOMES = ("adopted", "rejected", "deferred")
DECISION_MODES = ("informed", "consulted", "partnership", "delegated")
PROGRESS_STATUSES = ("in_progress", "done", "stalled")

# -- the community micro-fund (participatory budgeting) ----------------------------------------
FUND_PHASES = ("proposing", "review", "notice", "voting", "results", "delivery")
FUND_PROPOSERS = ("resident", "resident_organization", "agency")
FUND_CATEGORIES = ("service", "goods", "works")
VOTING_RULES = ("approval", "knapsack")  # any number of projects | a total within the fund
BALLOT_CHANNELS = ("online", "paper")
PROJECT_STATUSES = ("proposed", "unsupported", "feasible", "declined", "funded", "unfunded")

# -- the participation ladder: each resident's highest rung --------------------------------
RUNGS = ("served", "participant", "contributor", "co_decider", "leader")
SERVED, PARTICIPANT, CONTRIBUTOR, CO_DECIDER, LEADER = range(1, len(RUNGS) + 1)
RUNG_NAMES = dict(enumerate(RUNGS, start=1))  # 1 -> "served" … 5 -> "leader"
# each kind of act and the rung of the ladder it shows (docs/MEASURES.md): evaluation counts
# the acts from the events, casework shows residents their own
ACT_RUNGS = {"served": SERVED, "attended": PARTICIPANT, "trained": PARTICIPANT,
             "volunteered": CONTRIBUTOR, "registered_volunteer": CONTRIBUTOR,
             "proposed": CONTRIBUTOR, "voted": CO_DECIDER,
             "supported": CO_DECIDER, "member": CO_DECIDER, "led": LEADER}

# -- jurisdiction: who buys services where (reference data kept at intake) -------------------
BUYER_KINDS = ("street_office", "civil_affairs_bureau", "other")

# -- evaluation ------------------------------------------------------------------------------
MAX_SEED = 2**31 - 1  # a draw's seed has ten digits at most: it never looks like a phone
