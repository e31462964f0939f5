"""Everything a clerk does to a case, shared by the command line and the console.

Each action loads the case, asks the lifecycle whether the acting clerk may do it from the
case's state, changes the case and its records, appends one event, and recomputes the clocks.
An update that loses a race with another clerk raises `VersionConflict`, never overwrites.

The package is split by job: `context` (the desk, finding and saving a case, the one action
step every action goes through), `intake`, `triage`, `replies`, `closing`, `oversight` and
`reads`. Every public name is importable from here; the helpers without a leading underscore
in `context` are for this package's modules only.
"""

from __future__ import annotations

from caseworker.services.cases.closing import (
    RATINGS,
    check_reopenable,
    close_case,
    latest_rating,
    pause_case,
    rate_case,
    reopen_case,
    resume_case,
)
from caseworker.services.cases.context import (
    Desk,
    LapsedExtension,
    VersionConflict,
    check_allowed,
    find_case,
    lapsing_extensions,
    save,
    version_conflict,
)
from caseworker.services.cases.intake import (
    NewCase,
    accept_case,
    build_case,
    create_case,
    reject_case,
    validate_new_case,
)
from caseworker.services.cases.oversight import (
    SUPERVISION_LABELS,
    SUPERVISION_LEVELS,
    PendingExtension,
    approve_extension,
    deny_extension,
    extension_limit,
    instruct_case,
    pending_extensions,
    request_extension,
    supervise_case,
)
from caseworker.services.cases.reads import (
    CaseDetail,
    EventInfo,
    ReplyInfo,
    case_detail,
    case_history,
    clock_summary,
    readable_case,
)
from caseworker.services.cases.replies import (
    OUTCOMES,
    check_reply_draftable,
    check_reply_text,
    draft_reply,
    publish_reply,
    send_back_reply,
    submit_reply,
)
from caseworker.services.cases.triage import (
    acknowledge_case,
    assign_case,
    link_repeat,
    merge_case,
    return_case,
)

__all__ = [
    "OUTCOMES",
    "RATINGS",
    "SUPERVISION_LABELS",
    "SUPERVISION_LEVELS",
    "CaseDetail",
    "Desk",
    "EventInfo",
    "LapsedExtension",
    "NewCase",
    "PendingExtension",
    "ReplyInfo",
    "VersionConflict",
    "accept_case",
    "acknowledge_case",
    "approve_extension",
    "assign_case",
    "build_case",
    "case_detail",
    "case_history",
    "check_allowed",
    "check_reopenable",
    "check_reply_draftable",
    "check_reply_text",
    "clock_summary",
    "close_case",
    "create_case",
    "deny_extension",
    "draft_reply",
    "extension_limit",
    "find_case",
    "instruct_case",
    "lapsing_extensions",
    "latest_rating",
    "link_repeat",
    "merge_case",
    "pause_case",
    "pending_extensions",
    "publish_reply",
    "rate_case",
    "readable_case",
    "reject_case",
    "reopen_case",
    "request_extension",
    "resume_case",
    "return_case",
    "save",
    "send_back_reply",
    "submit_reply",
    "supervise_case",
    "validate_new_case",
    "version_conflict",
]
